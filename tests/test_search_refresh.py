"""The materialized search view: refreshed after commit, coalesced, never lost.

These tests commit for real (a refresher works on its own connection), wait
for results with a bounded poll (never a fixed sleep), and empty the tables
afterwards. Each runner (inline, background, celery) is exercised with the
same changes: a new comment, an edit, a move and a delete.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text, update

from forum.counting import CountedSession
from forum.models import Board, Comment, SearchRefreshState, Thread
from forum.search import refresh as refresh_module
from forum.search import requests as search_refresh
from forum.search.query import search
from forum.search.refresh import LOCK_KEY, refresh_status, refresh_until_fresh
from forum.search.runners import BackgroundRunner, CeleryRunner, InlineRunner, RefreshRunner

from .factories import make_board, make_thread, make_user

pytestmark = pytest.mark.concurrency
ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# The celery tests' Redis: .ci/run starts one on a free port when 6379 has none and says where.
TEST_BROKER = os.environ.get("FORUM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def wait_until(condition: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
    """Poll ``condition`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"still not true after {timeout}s: {what}")
        time.sleep(0.05)


class Recorder(RefreshRunner):
    """Counts the requests a commit makes, and passes them on (or not)."""

    def __init__(self, inner: RefreshRunner | None = None) -> None:
        self.inner = inner
        self.requests = 0

    def request(self) -> None:
        self.requests += 1
        if self.inner is not None:
            self.inner.request()


@pytest.fixture
def engine(committed_engine: Engine) -> Iterator[Engine]:
    """Empty tables, an empty (populated) materialized view, a zeroed refresh state."""

    def reset() -> None:
        with committed_engine.connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            connection.execute(text("REFRESH MATERIALIZED VIEW search_view_materialized"))
            connection.execute(
                update(SearchRefreshState).values(
                    generation=0, refreshed_generation=0, refreshes=0, last_error=None
                )
            )

    reset()
    yield committed_engine
    search_refresh.use(None)


@pytest.fixture
def forum(engine: Engine):
    """A board pair and a thread on each, written with no runner (nothing refreshed yet)."""
    with CountedSession(engine) as session:
        alice = make_user(session)
        one, two = make_board(session, "one"), make_board(session, "two")
        t1 = make_thread(session, one, alice, "opening post", title="First")
        t2 = make_thread(session, two, alice, "opening post", title="Second")
        session.commit()
        return {"author": alice.id, "t1": t1.id, "t2": t2.id, "one": one.id, "two": two.id}


def found(engine: Engine, query: str, board_id: int | None = None) -> int:
    """How many rows of the materialized view match ``query`` (on one board)."""
    sql = (
        "SELECT count(*) FROM search_view_materialized "
        "WHERE document @@ websearch_to_tsquery('english', :q)"
    )
    if board_id is not None:
        sql += " AND board_id = :board"
    with engine.connect() as connection:
        return connection.scalar(text(sql), {"q": query, "board": board_id})


def hits(engine: Engine, query: str, board_id: int | None = None) -> list:
    """What a search of the materialized form answers."""
    with CountedSession(engine) as session:
        board = session.get(Board, board_id) if board_id else None
        return search(session, query, form="materialized", board=board).hits


def refreshes(engine: Engine) -> int:
    with engine.connect() as connection:
        return refresh_status(connection)["refreshes"]


def fresh(engine: Engine) -> bool:
    with engine.connect() as connection:
        return refresh_status(connection)["fresh"]


def exercise(engine: Engine, forum: dict) -> None:
    """A new comment, an edit, a move and a delete each show in the materialized view."""
    with CountedSession(engine) as session:
        comment = Comment(thread_id=forum["t1"], author_id=forum["author"], message="kohlrabi soup")
        session.add(comment)
        session.commit()
        wait_until(lambda: found(engine, "kohlrabi") == 1, what="the new comment")
        [hit] = hits(engine, "kohlrabi")
        assert (hit.comment_id, str(hit.headline)) == (comment.id, "<mark>kohlrabi</mark> soup")

        comment.message = "parsnip soup"
        session.commit()
        wait_until(
            lambda: found(engine, "parsnip") == 1 and found(engine, "kohlrabi") == 0,
            what="the edited message",
        )

        comment.thread = session.get(Thread, forum["t2"])
        session.commit()
        wait_until(
            lambda: (
                found(engine, "parsnip", forum["two"]) == 1
                and found(engine, "parsnip", forum["one"]) == 0
            ),
            what="the moved comment",
        )

        session.delete(comment)
        session.commit()
        wait_until(lambda: found(engine, "parsnip") == 0, what="the deleted comment")
    wait_until(lambda: fresh(engine), what="the view to catch up")
    assert hits(engine, "parsnip") == []


# --- each runner ---------------------------------------------------------------------


def test_inline_runner(engine: Engine, forum: dict):
    recorder = Recorder(InlineRunner(engine))
    search_refresh.use(recorder)
    exercise(engine, forum)
    assert recorder.requests == 4


def test_background_runner(engine: Engine, forum: dict):
    runner = BackgroundRunner(engine, debounce=0.1, safety_interval=0)
    runner.start()
    try:
        search_refresh.use(runner)
        exercise(engine, forum)
    finally:
        runner.stop()


@pytest.fixture
def celery_worker(database_url) -> Iterator[None]:
    """A real Celery worker on the local Redis (database 15), on the test database."""
    import redis

    redis.Redis.from_url(TEST_BROKER).flushdb()
    env = {
        **os.environ,
        "FORUM_INI": str(ROOT / "development.ini"),
        "FORUM_CELERY_BROKER_URL": TEST_BROKER,
    }
    worker = subprocess.Popen(
        [
            str(BIN / "celery"),
            "-A",
            "forum.tasks",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "-n",
            f"test-{os.getpid()}@%h",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(worker.stdout), daemon=True)
    reader.start()
    try:
        wait_until(
            lambda: any(" ready." in line for line in lines) or worker.poll() is not None,
            timeout=60,
            what="the celery worker to start",
        )
        assert worker.poll() is None, "".join(lines)
        yield
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        reader.join(timeout=5)
        worker.stdout.close()


def test_celery_runner(engine: Engine, forum: dict, celery_worker):
    runner = CeleryRunner(TEST_BROKER, debounce=0.1)
    search_refresh.use(runner)
    try:
        exercise(engine, forum)
    finally:
        runner.stop()


def test_celery_burst_of_fifty_writes_costs_a_few_refreshes(engine, forum, celery_worker):
    runner = CeleryRunner(TEST_BROKER, debounce=0.5)
    search_refresh.use(runner)
    try:
        before = refreshes(engine)
        _burst(engine, forum, 50)
        wait_until(lambda: found(engine, "burstword") == 50 and fresh(engine), what="the burst")
        assert refreshes(engine) - before <= 2
    finally:
        runner.stop()


def _burst(engine: Engine, forum: dict, writes: int) -> None:
    with CountedSession(engine) as session:
        for n in range(writes):
            session.add(
                Comment(
                    thread_id=forum["t1"],
                    author_id=forum["author"],
                    message=f"burstword number {n}",
                )
            )
            session.commit()


def test_background_burst_of_fifty_writes_costs_a_few_refreshes(engine, forum):
    runner = BackgroundRunner(engine, debounce=0.5, safety_interval=0)
    runner.start()
    try:
        wait_until(lambda: runner.runs >= 1, what="the start-up catch-up run")
        before = refreshes(engine)
        search_refresh.use(runner)
        _burst(engine, forum, 50)
        wait_until(lambda: fresh(engine) and found(engine, "burstword") == 50, what="the burst")
        assert refreshes(engine) - before <= 2  # one at the end, perhaps one while it ran
    finally:
        runner.stop()


# --- after commit only, only for searchable changes --------------------------------------


def test_a_rolled_back_write_asks_for_nothing_and_never_shows(engine: Engine, forum: dict):
    recorder = Recorder(InlineRunner(engine))
    search_refresh.use(recorder)
    generation = refresh_status(engine.connect())["generation"]
    with CountedSession(engine) as session:
        session.add(Comment(thread_id=forum["t1"], author_id=forum["author"], message="ghostword"))
        session.flush()
        session.rollback()
    assert recorder.requests == 0
    with engine.connect() as connection:
        assert refresh_status(connection)["generation"] == generation
    refresh_until_fresh(engine, force=True)
    assert found(engine, "ghostword") == 0


def test_only_searchable_changes_ask(engine: Engine, forum: dict):
    recorder = Recorder()
    search_refresh.use(recorder)
    with CountedSession(engine) as session:
        thread = session.get(Thread, forum["t1"])
        thread.last_activity_at = text("clock_timestamp()")  # not searchable
        thread.comment_count += 0
        session.commit()
        comment = session.query(Comment).filter_by(thread_id=forum["t1"]).one()
        comment.message = comment.message  # the same text: no change
        session.commit()
        assert recorder.requests == 0
        thread.title = "First, renamed"
        session.commit()
        assert recorder.requests == 1
        session.add(Comment(thread_id=forum["t1"], author_id=forum["author"], message="x y"))
        session.commit()  # a comment insert (and its counter updates) ask once
        assert recorder.requests == 2


def test_requests_from_web_requests_come_from_the_after_commit_hook(engine: Engine, forum: dict):
    """Through the app: the zope transaction's after-commit hook asks, with success=True."""
    from webtest import TestApp

    from forum import main

    from .factories import TEST_PASSWORD
    from .harness import TEST_SETTINGS

    app = main(
        {},
        **{**TEST_SETTINGS, "forum.search_view": "materialized", "forum.search_refresh": "inline"},
    )
    recorder = Recorder(search_refresh.active_runner())
    search_refresh.use(recorder)
    client = TestApp(app)
    token = client.post_json("/api/session", {"username": "alice", "password": TEST_PASSWORD}).json[
        "csrf_token"
    ]
    client.post_json(
        f"/api/threads/{forum['t1']}/comments",
        {"message": "turnip tart"},
        headers={"X-CSRF-Token": token},
        status=201,
    )
    assert recorder.requests == 1
    results = client.get("/api/search", params={"q": "turnip"}).json
    assert [r["headline"] for r in results["results"]] == ["<mark>turnip</mark> tart"]
    client.post_json(
        f"/api/threads/{forum['t1']}/comments",
        {"message": " "},
        headers={"X-CSRF-Token": token},
        status=422,
    )
    assert recorder.requests == 1  # a refused request commits nothing and asks nothing


# --- never lose a request ---------------------------------------------------------------


def test_a_write_during_a_refresh_shows_after_the_next(engine: Engine, forum: dict):
    search_refresh.use(Recorder(InlineRunner(engine)))  # the writer's own refresh is skipped
    written = []

    def write_meanwhile() -> None:
        if written:
            return
        written.append(True)
        with CountedSession(engine) as session:
            session.add(
                Comment(
                    thread_id=forum["t1"], author_id=forum["author"], message="meanwhile radish"
                )
            )
            session.commit()  # its inline refresh finds the lock taken and leaves it to us

    report = refresh_until_fresh(engine, force=True, before_refresh=write_meanwhile)
    assert report.refreshes == 2
    assert found(engine, "radish") == 1
    assert fresh(engine)


def _libpq_url(url) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def test_the_lock_is_released_when_its_holder_dies(engine: Engine, database_url):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time, psycopg2; "
            f"c = psycopg2.connect({_libpq_url(database_url)!r}); "
            f"c.cursor().execute('SELECT pg_advisory_lock({LOCK_KEY})'); "
            "print('locked', flush=True); time.sleep(120)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert refresh_until_fresh(engine, force=True).skipped
        holder.kill()  # no clean-up of any kind: the process is simply gone
        holder.wait()
        wait_until(
            lambda: not refresh_until_fresh(engine, force=True).skipped,
            what="PostgreSQL to release the dead holder's lock",
        )
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()


def test_a_missed_request_is_caught_by_the_safety_refresh(engine: Engine, forum: dict):
    search_refresh.use(Recorder())  # asks, but nobody listens: as if the process died
    with CountedSession(engine) as session:
        session.add(Comment(thread_id=forum["t1"], author_id=forum["author"], message="lost leek"))
        session.commit()
    assert not fresh(engine)
    runner = BackgroundRunner(engine, debounce=0.1, safety_interval=0.2)
    runner.start()
    try:
        wait_until(lambda: found(engine, "leek") == 1 and fresh(engine), what="the safety refresh")
    finally:
        runner.stop()


# --- failures ----------------------------------------------------------------------------


def test_a_failing_refresh_never_fails_the_request(
    engine: Engine, forum: dict, monkeypatch, caplog
):
    def broken(connection, before):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(refresh_module, "_refresh_once", broken)
    search_refresh.use(InlineRunner(engine))
    with caplog.at_level(logging.ERROR), CountedSession(engine) as session:
        session.add(Comment(thread_id=forum["t1"], author_id=forum["author"], message="beet"))
        session.commit()  # no exception: the write is committed
    assert "inline search refresh failed" in caplog.text
    with CountedSession(engine) as session:
        assert session.query(Comment).filter_by(message="beet").count() == 1


def test_a_failing_refresh_is_retried_with_backoff(engine: Engine, forum: dict, monkeypatch):
    real = refresh_module._refresh_once
    failures = []

    def flaky(connection, before):
        if len(failures) < 2:
            failures.append(time.monotonic())
            raise RuntimeError("temporary trouble")
        real(connection, before)

    monkeypatch.setattr(refresh_module, "_refresh_once", flaky)
    runner = BackgroundRunner(engine, debounce=0.05, safety_interval=0, retry_base=0.2)
    runner.start()
    try:
        search_refresh.use(runner)
        with CountedSession(engine) as session:
            session.add(Comment(thread_id=forum["t1"], author_id=forum["author"], message="okra"))
            session.commit()
        wait_until(lambda: found(engine, "okra") == 1, what="the retried refresh")
        assert len(failures) == 2
        assert failures[1] - failures[0] >= 0.2  # waited before trying again
        wait_until(lambda: runner.failures == 0, what="the runner to record the success")
    finally:
        runner.stop()


def test_forum_search_refresh_command(engine: Engine, forum: dict):
    result = subprocess.run(
        [str(BIN / "forum-search-refresh"), str(ROOT / "development.ini")],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ,
    )
    assert result.returncode == 0, result.stderr
    assert "refreshed the search view 1 time(s)" in result.stdout
    assert found(engine, "opening") == 2
