"""Faults survived with nothing lost, each against a private cluster and real web processes.

- The database stops for 10 s under a bounded write load from 4 clients, then
  starts again: meanwhile every request is a quick 503 with Retry-After (never a
  500, never a hang); the app recovers by itself; every comment answered 201 is
  stored; ``forum-reconcile`` finds no drift.
- A web process is killed with SIGKILL mid-load and started again: every 201 is
  stored, every thread has its opening post, no transaction is left open, and
  there is no drift.
- 50 idle or half-sent connections do not stop the server answering others.

The cluster is pgserver's embedded server on a temporary folder, never the
shared test server; web processes listen on free loopback ports.
"""

from __future__ import annotations

import json
import random
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from plaster import get_settings
from sqlalchemy import create_engine, select, text

from forum.counting import CountedSession
from forum.models import Comment, Thread

from .factories import TEST_PASSWORD, make_board, make_thread, make_user
from .fault_cluster import PrivateCluster, WebProcess

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = 4
PAUSE = 0.05  # between one client's requests: a bounded load
HANG_LIMIT = 5.0  # no request may take longer than this, outage or not


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[PrivateCluster]:
    cluster = PrivateCluster(tmp_path_factory.mktemp("faults"))
    try:
        yield cluster
    finally:
        cluster.close()


@dataclass
class Forum:
    """What each test starts from: writers, a board, a thread to reply to."""

    cluster: PrivateCluster
    board: str
    thread_ids: list[str]
    writers: list[str]
    logs: Path
    processes: list[WebProcess] = field(default_factory=list)

    def start_web(self) -> WebProcess:
        web = WebProcess(self.cluster, self.logs / f"web{len(self.processes)}.log")
        self.processes.append(web)
        web.wait_until_serving()
        return web

    def engine(self):
        return create_engine(self.cluster.url)


@pytest.fixture
def forum(cluster, tmp_path) -> Iterator[Forum]:
    cluster.ensure_started()
    engine = create_engine(cluster.url)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE comments, threads, boards, users, sign_in_failures"))
    slug = "faults"
    with CountedSession(engine) as session:
        writers = [make_user(session, f"writer{i}") for i in range(CLIENTS)]
        board = make_board(session, slug)
        threads = [make_thread(session, board, writers[0], "first post", title="t") for _ in "ab"]
        session.commit()
        thread_ids = [str(thread.id) for thread in threads]
        names = [writer.username for writer in writers]
    engine.dispose()
    forum = Forum(cluster, slug, thread_ids, names, tmp_path)
    try:
        yield forum
    finally:
        for web in forum.processes:
            web.kill()


class Client:
    """A JSON client with its own cookie jar, recording every answer and how long it took."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        self.csrf_token = ""

    def call(self, method: str, path: str, body: dict | None = None):
        """(status or None when the connection failed, JSON body, Retry-After, seconds)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        request.add_header("X-CSRF-Token", self.csrf_token)
        started = time.monotonic()
        try:
            with self.opener.open(request, timeout=30) as answer:
                raw = answer.read()
                status, headers = answer.status, answer.headers
        except urllib.error.HTTPError as error:
            raw, status, headers = error.read(), error.code, error.headers
        except OSError:
            return None, {}, None, time.monotonic() - started
        elapsed = time.monotonic() - started
        try:
            parsed = json.loads(raw) if raw else {}
        except ValueError:
            parsed = {"raw": raw[:200].decode(errors="replace")}
        return status, parsed, headers.get("Retry-After"), elapsed

    def sign_in(self, username: str) -> bool:
        """Sign in; False when the web process is gone meanwhile."""
        status, body, _, _ = self.call(
            "POST", "/api/session", {"username": username, "password": TEST_PASSWORD}
        )
        if status is None:
            return False
        assert status == 200, body
        self.csrf_token = body["csrf_token"]
        return True


@dataclass
class Answer:
    at: float
    action: str
    status: int | None
    retry_after: str | None
    seconds: float
    id: str | None


def write_load(
    base_url: str, forum: Forum, stop: threading.Event, seed: int, answers: list[Answer]
) -> None:
    """One client: replies, new threads and edits of its own replies until ``stop``."""
    rng = random.Random(seed)
    client = Client(base_url)
    if not client.sign_in(forum.writers[seed]):
        return
    mine: list[str] = []
    while not stop.is_set():
        action = rng.choice(["reply", "reply", "reply", "thread", "edit"])
        words = " ".join(rng.choice(["alpha", "beta", "gamma"]) for _ in range(rng.randint(1, 6)))
        if action == "reply":
            path = f"/api/threads/{rng.choice(forum.thread_ids)}/comments"
            status, body, retry, seconds = client.call("POST", path, {"message": words})
        elif action == "thread":
            path = f"/api/boards/{forum.board}/threads"
            status, body, retry, seconds = client.call(
                "POST", path, {"title": "a thread", "message": words}
            )
        elif mine:
            path = f"/api/comments/{rng.choice(mine)}"
            status, body, retry, seconds = client.call("PATCH", path, {"message": words})
        else:
            continue
        created = body.get("id") if status == 201 else None
        if created and action == "reply":
            mine.append(created)
        answers.append(Answer(time.monotonic(), action, status, retry, seconds, created))
        if status is None:  # the web process is gone
            return
        time.sleep(PAUSE)


CLIENT_ERRORS: list[str] = []


def run_clients(base_url: str, forum: Forum, answers: list[Answer], stop: threading.Event):
    def run(seed: int) -> None:
        try:
            write_load(base_url, forum, stop, seed, answers)
        except Exception as error:  # reported by the test, with what went wrong
            CLIENT_ERRORS.append(f"client {seed}: {error!r}")

    CLIENT_ERRORS.clear()
    threads = [threading.Thread(target=run, args=(seed,)) for seed in range(CLIENTS)]
    for thread in threads:
        thread.start()
    return threads


def wait_for_writes(answers: list[Answer], count: int = CLIENTS * 5, timeout: float = 30) -> None:
    """Until the clients are well under way (a loaded machine may take a while)."""
    deadline = time.monotonic() + timeout
    while sum(1 for a in answers if a.status in (200, 201)) < count:
        assert time.monotonic() < deadline, "the clients never got going"
        time.sleep(0.05)


def assert_everything_created_is_stored(forum: Forum, answers: list[Answer]) -> None:
    assert not CLIENT_ERRORS
    engine = forum.engine()
    with CountedSession(engine) as session:
        comment_ids = {str(i) for i in session.scalars(select(Comment.id))}
        thread_ids = {str(i) for i in session.scalars(select(Thread.id))}
        # Nothing half-written: every thread has its opening post.
        empty = session.scalar(
            select(Thread.id).where(
                ~select(Comment.id).where(Comment.thread_id == Thread.id).exists()
            )
        )
    engine.dispose()
    replies = {a.id for a in answers if a.action == "reply" and a.status == 201}
    threads = {a.id for a in answers if a.action == "thread" and a.status == 201}
    assert replies and replies <= comment_ids
    assert threads <= thread_ids
    assert empty is None
    result = forum.cluster.reconcile()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no drift" in result.stdout


def test_database_stopped_for_ten_seconds_under_load(forum: Forum):
    web = forum.start_web()
    answers: list[Answer] = []
    stop = threading.Event()
    clients = run_clients(web.base_url, forum, answers, stop)
    probe = Client(web.base_url)
    try:
        wait_for_writes(answers)
        forum.cluster.stop()
        down_at = time.monotonic()
        time.sleep(1)
        page = probe.call("GET", "/")  # the pages too: a plain 503
        api = probe.call("GET", "/api/boards")
        time.sleep(max(0.0, 10 - (time.monotonic() - down_at)))
        starting_at = time.monotonic()
        forum.cluster.start()
        up_at = time.monotonic()
        deadline = up_at + 20
        while time.monotonic() < deadline:
            if sum(1 for a in answers if a.at > up_at and a.status == 201) >= CLIENTS * 3:
                break
            time.sleep(0.2)
    finally:
        stop.set()
        for thread in clients:
            thread.join(timeout=60)

    assert page[0] == 503 and page[2] == "5"
    assert api[0] == 503 and api[2] == "5" and api[1]["error"]["code"] == "unavailable"
    statuses = {a.status for a in answers}
    assert statuses <= {200, 201, 503}, statuses  # no 500, no dropped connection
    assert all(a.retry_after == "5" for a in answers if a.status == 503)
    assert max(a.seconds for a in answers) < HANG_LIMIT
    during = [a for a in answers if down_at + 0.5 < a.at < starting_at]
    assert during and {a.status for a in during} == {503}
    recovered = [a.at - up_at for a in answers if a.at > up_at and a.status in (200, 201)]
    assert recovered and min(recovered) < 5, "the app did not recover by itself"
    assert_everything_created_is_stored(forum, answers)


def test_web_process_killed_mid_load_and_started_again(forum: Forum):
    answers: list[Answer] = []
    first = forum.start_web()
    stop = threading.Event()
    clients = run_clients(first.base_url, forum, answers, stop)
    wait_for_writes(answers)
    time.sleep(0.5)
    first.kill()  # SIGKILL while the four clients are writing
    for thread in clients:
        thread.join(timeout=60)
    assert any(a.status is None for a in answers)  # requests were cut off mid-flight

    second = forum.start_web()
    stop = threading.Event()
    clients = run_clients(second.base_url, forum, after := [], stop)
    wait_for_writes(after)
    stop.set()
    for thread in clients:
        thread.join(timeout=60)
    assert {a.status for a in after} <= {200, 201}
    answers += after

    # The killed process's transactions were rolled back by PostgreSQL: none is left open.
    engine = forum.engine()
    with engine.connect() as conn:
        open_transactions = conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
            )
        )
    engine.dispose()
    assert open_transactions == 0
    assert_everything_created_is_stored(forum, answers)


@pytest.mark.parametrize("ini", ["development.ini", "production.ini"])
def test_both_ini_files_bound_idle_connections(ini):
    settings = get_settings(str(ROOT / ini), "server:main")
    assert 0 < int(settings["channel_timeout"]) <= 120
    assert int(settings["connection_limit"]) > 50 + int(settings["threads"])


def test_fifty_idle_connections_do_not_stop_the_server(forum: Forum):
    web = forum.start_web()
    idle = []
    try:
        for index in range(50):
            conn = socket.create_connection(("127.0.0.1", web.port), timeout=5)
            if index % 2:  # half send a request line and stop, like a slow client
                conn.sendall(b"GET /api/boards HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            idle.append(conn)
        client = Client(web.base_url)
        for _ in range(10):
            status, _, _, seconds = client.call("GET", "/api/boards")
            assert status == 200 and seconds < 2
        client.sign_in(forum.writers[0])
        status, _, _, seconds = client.call(
            "POST", f"/api/threads/{forum.thread_ids[0]}/comments", {"message": "still here"}
        )
        assert status == 201 and seconds < 2
    finally:
        for conn in idle:
            conn.close()
