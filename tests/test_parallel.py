"""forum.parallel: a page's independent reads at once, the same pages as serial, errors surface.

Parallel reads run on connections of their own, so they cannot see a test's
uncommitted savepoint: these tests commit their data for real
(``committed_engine`` empties the tables afterwards) and drive two apps built
on it, one serial and one parallel, with no test connection.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import InternalError
from webtest import TestApp

from forum import main
from forum.counting import CountedSession
from forum.parallel import ParallelReader
from forum.services import reading

from .factories import TEST_PASSWORD, add_comment, make_board, make_thread, make_user
from .harness import TEST_SETTINGS

pytestmark = pytest.mark.concurrency

COMMENTS = 120  # more than two pages of the thread page (50 a page)


def build(parallel: bool):
    return main({}, **TEST_SETTINGS, **{"forum.parallel_queries": str(parallel).lower()})


@pytest.fixture(scope="module")
def apps(database_url) -> Iterator[dict[bool, object]]:
    built = {False: build(False), True: build(True)}
    yield built
    for app in built.values():
        reader = app.registry["parallel_reader"]
        if reader is not None:
            reader.close()
        app.registry["dbengine"].dispose()


@pytest.fixture
def forum_data(committed_engine) -> dict:
    """Two boards, three threads, one of them long; committed for real."""
    with CountedSession(committed_engine) as session:
        alice = make_user(session, "alice")
        bob = make_user(session, "bob")
        general, help_ = make_board(session, "general"), make_board(session, "help")
        long = make_thread(session, general, alice, "the long one starts here", title="Long")
        for n in range(COMMENTS):
            add_comment(session, long, bob if n % 2 else alice, f"comment number {n} says hello")
        make_thread(session, general, bob, "a short thread", title="Short")
        make_thread(session, help_, alice, "help me please", title="Question")
        make_user(session, "mod", role="moderator")
        session.commit()
        return {"long": long.id}


def visit(app, path: str, status: int | None = None):
    return TestApp(app).get(path, status=status if status is not None else "*")


def main_part(body: str) -> str:
    """The page without what differs between two visits (the session's CSRF token)."""
    return re.sub(r'name="csrf_token" value="[^"]*"', "", body)


def same_page(apps, path: str) -> str:
    serial, parallel = visit(apps[False], path), visit(apps[True], path)
    assert parallel.status_int == serial.status_int, path
    assert main_part(parallel.text) == main_part(serial.text), path
    return parallel.text


def test_every_page_equals_its_serial_twin(apps, forum_data):
    long = forum_data["long"]
    home = same_page(apps, "/")
    assert "Long" in home and "Question" in home  # the latest threads
    assert re.search(r'class="total-comments">123<', home)  # 121 + 1 + 1
    first = same_page(apps, f"/t/{long}")
    assert "comment number 48 says hello" in first
    # the next page, by the first page's own link, and the last page
    following = re.search(r'href="(/t/[^"]*after=[^"]*)"', first)
    assert following is not None
    second = same_page(apps, following.group(1).replace("&amp;", "&"))
    assert "comment number 49 says hello" in second
    last = same_page(apps, f"/t/{long}?last=1")
    assert f"comment number {COMMENTS - 1} says hello" in last
    # missing and malformed ids: the same 404 page both ways
    assert visit(apps[True], f"/t/{uuid.uuid4()}").status_int == 404
    same_page(apps, f"/t/{uuid.uuid4()}")
    same_page(apps, "/t/not-an-id")
    same_page(apps, f"/t/{long}?after=garbage")


def test_a_moderator_sees_the_same_pages(apps, forum_data):
    """Signed in, the pages carry edit, move and delete links for every comment."""
    pages = {}
    for parallel, app in apps.items():
        browser = TestApp(app)
        browser.post_json("/api/session", {"username": "mod", "password": TEST_PASSWORD})
        pages[parallel] = [
            main_part(browser.get(path).text) for path in ("/", f"/t/{forum_data['long']}")
        ]
    assert pages[True] == pages[False]
    assert "Move</a>" in pages[True][1]


def test_the_board_index_of_an_empty_forum(apps, committed_engine):
    assert "No boards yet." in same_page(apps, "/")


def test_the_reads_run_at_once_on_connections_of_their_own(engine):
    reader = ParallelReader(engine, workers=3)
    try:

        def sleeper(session):
            return session.scalar(text("SELECT pg_backend_pid() FROM pg_sleep(0.4)"))

        reader.run({"warm": sleeper})  # the pool's first connections are made here
        started = time.monotonic()
        pids = reader.run({"a": sleeper, "b": sleeper, "c": sleeper})
        elapsed = time.monotonic() - started
        assert len(set(pids.values())) == 3
        assert elapsed < 1.0  # three 0.4 s reads, not 1.2 s in a row
    finally:
        reader.close()


def test_each_read_is_read_only(engine):
    reader = ParallelReader(engine, workers=2)
    try:
        with pytest.raises(InternalError, match="read-only transaction"):
            reader.run({"write": lambda s: s.execute(text("CREATE TEMP TABLE t (x int)"))})
        assert reader.run({"ok": lambda s: s.scalar(text("SELECT 1"))}) == {"ok": 1}
    finally:
        reader.close()


def test_the_first_error_is_raised_and_none_is_swallowed(engine):
    reader = ParallelReader(engine, workers=3)  # all three start at once

    def fails(message: str):
        def read(session):
            session.scalar(text("SELECT pg_sleep(0.05)"))
            raise ValueError(message)

        return read

    try:
        with pytest.raises(ValueError, match="first") as raised:
            reader.run({"fine": reading.boards, "one": fails("first"), "two": fails("second")})
        notes = "\n".join(getattr(raised.value, "__notes__", []))
        assert "raised by read 'one'" in notes
        assert "read 'two' also failed: ValueError('second')" in notes
        # the pool is whole afterwards
        assert reader.run({"boards": reading.boards}) == {"boards": []}
    finally:
        reader.close()


def _failing(read_sql: str):
    def read(session):
        return session.execute(text(read_sql)).all()

    return read


@pytest.mark.parametrize(
    ("sql", "status", "says"),
    [
        ("SELECT 1/0", 500, "Something went wrong"),
        # the read's own connection dies: the outage page, as when the database goes away
        ("SELECT pg_terminate_backend(pg_backend_pid())", 503, "Back in a moment"),
    ],
)
def test_an_error_in_one_read_is_the_usual_error_page(
    apps, forum_data, monkeypatch, caplog, sql, status, says
):
    monkeypatch.setattr(reading, "latest_threads", _failing(sql))
    serial, parallel = visit(apps[False], "/"), visit(apps[True], "/")
    assert parallel.status_int == serial.status_int == status
    assert says in parallel.text
    assert "Latest activity" not in parallel.text and "General" not in parallel.text
    assert main_part(parallel.text) == main_part(serial.text)
    monkeypatch.undo()  # and the app goes on answering
    assert "General" in visit(apps[True], "/", status=200).text


def test_the_thread_header_failing_fails_the_thread_page(apps, forum_data, monkeypatch):
    monkeypatch.setattr(reading, "thread_by_id", _failing("SELECT 1/0"))
    response = visit(apps[True], f"/t/{forum_data['long']}")
    assert response.status_int == 500
    assert "comment number" not in response.text
