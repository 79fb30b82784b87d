"""`make cluster` under load: two web processes behind HAProxy, Redis, a Celery worker.

``forum-cluster cluster.ini`` is started on a database of its own; eight JSON
clients (seven members and a moderator) create threads and comments, edit,
move and delete them through the balancer for LOAD_SECONDS. After every write
the client reads it back through the *other* web process's own port (the
balancer names the one that answered, ``X-Forum-Backend``): the API object and
the thread page must both show it. Then: no 5xx and no failed connection, every
201 is in the database as last written, ``forum-reconcile`` finds no drift,
and the materialized search view (refreshed by the Celery worker) finds the
newest words.

Each comment has one writer (members edit and delete their own, the moderator
moves its own), so a read-back can only differ from the write if a process
served stale data.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import string
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.engine import URL

from forum.counting import CountedSession
from forum.database import drop_database
from forum.models import Comment, Thread
from forum.pagination import encode_cursor

from .factories import TEST_PASSWORD, make_board, make_user

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CLIENTS = 8
LOAD_SECONDS = 20
SEARCH_CATCH_UP_SECONDS = 40

pytestmark = pytest.mark.skipif(
    shutil.which("haproxy") is None,
    reason="HAProxy is not installed (make test installs it when it may: root or sudo -n)",
)


def word(rng: random.Random) -> str:
    """A word no one else writes: its search hit can only be ours."""
    return "zq" + "".join(rng.choice(string.ascii_lowercase) for _ in range(10))


@dataclass
class Cluster:
    url: str
    web: dict[str, int]  # process name -> its own port
    database: URL
    process: subprocess.Popen
    folder: Path

    def other(self, name: str | None) -> str:
        """The base URL of a web process other than ``name``."""
        others = [port for n, port in self.web.items() if n != name]
        return f"http://127.0.0.1:{others[0]}"


@pytest.fixture(scope="module")
def cluster(database_url: URL, tmp_path_factory) -> Iterator[Cluster]:
    database = database_url.set(database=f"{database_url.database}_cluster")
    drop_database(database)
    folder = tmp_path_factory.mktemp("cluster")
    state = folder / "state.json"
    command = [str(BIN / "forum-cluster"), str(ROOT / "cluster.ini"), "--web", "2"]
    command += ["--port", str(free_port()), "--folder", str(folder), "--state", str(state)]
    if shutil.which("redis-server") is None:  # CI's Redis then, on a database of its own
        base = os.environ.get("FORUM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
        command += ["--redis-url", base.rsplit("/", 1)[0] + "/14"]
    env = {**os.environ, "FORUM_DATABASE_URL": database.render_as_string(hide_password=False)}
    log = (folder / "forum-cluster.log").open("wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        deadline = time.monotonic() + 90
        while not state.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "forum-cluster did not start:\n"
                    + (folder / "forum-cluster.log").read_text()[-3000:]
                    + "".join(
                        f"\n--- {p.name}\n{p.read_text(errors='replace')[-1500:]}"
                        for p in sorted((folder / "logs").glob("*.log"))
                    )
                )
            time.sleep(0.2)
        info = json.loads(state.read_text())
        ports = {name: web["port"] for name, web in info["web"].items()}
        yield Cluster(info["url"], ports, database, process, folder)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        drop_database(database)


def free_port() -> int:
    from forum.scripts.processes import free_port as port

    return port()


class Client:
    """A JSON client with its own cookie jar; every answer's status is recorded."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        self.csrf_token = ""
        self.statuses: list[tuple[str, str, int]] = []

    def call(self, method: str, path: str, body: dict | None = None, base: str | None = None):
        """(status, JSON or text body, the X-Forum-Backend that answered); 0 if no answer."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request((base or self.base_url) + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        request.add_header("X-CSRF-Token", self.csrf_token)
        try:
            with self.opener.open(request, timeout=30) as answer:
                raw, status, headers = answer.read(), answer.status, answer.headers
        except urllib.error.HTTPError as error:
            raw, status, headers = error.read(), error.code, error.headers
        except OSError as error:
            self.statuses.append((method, path, 0))
            return 0, str(error), None
        self.statuses.append((method, path, status))
        text = raw.decode(errors="replace")
        is_json = headers.get("Content-Type", "").startswith("application/json")
        return (
            status,
            (json.loads(text) if is_json and text else text),
            headers.get("X-Forum-Backend"),
        )

    def sign_in(self, username: str) -> None:
        status, body, _ = self.call(
            "POST", "/api/session", {"username": username, "password": TEST_PASSWORD}
        )
        assert status == 200, body
        self.csrf_token = body["csrf_token"]


@dataclass
class Outcome:
    threads: dict[str, str] = field(default_factory=dict)  # id -> title
    comments: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (thread, msg)
    deleted: set[str] = field(default_factory=set)
    stale: list[str] = field(default_factory=list)  # a read-back that missed the write
    served_by: set[str] = field(default_factory=set)
    newest_words: list[str] = field(default_factory=list)


class Writer:
    """One client's loop: its own threads and comments, read back through another process."""

    def __init__(self, cluster: Cluster, name: str, moderator: bool, slug: str, seed: int):
        self.cluster = cluster
        self.client = Client(cluster.url)
        self.client.sign_in(name)
        self.moderator = moderator
        self.slug = slug
        self.rng = random.Random(seed)
        self.out = Outcome()
        self.mine: list[str] = []  # my live comments (not opening posts)

    def check(self, served_by: str | None, what: str, path: str, expect) -> None:
        """Read ``path`` from a process other than ``served_by``; ``expect`` says if it's right."""
        status, body, _ = self.client.call("GET", path, base=self.cluster.other(served_by))
        if not expect(status, body):
            self.out.stale.append(f"{what}: GET {path} from not-{served_by}: {status}")

    def page_at(self, comment: dict) -> str:
        key = (datetime.fromisoformat(comment["created_at"]), comment["id"])
        return f"/t/{comment['thread_id']}?at={encode_cursor(key)}"

    def new_thread(self) -> None:
        title, text = f"load {word(self.rng)}", f"opening {word(self.rng)}"
        status, body, by = self.client.call(
            "POST", f"/api/boards/{self.slug}/threads", {"title": title, "message": text}
        )
        if status == 201:
            self.out.served_by.add(by or "?")
            self.out.threads[body["id"]] = title
            self.check(by, "new thread", f"/api/threads/{body['id']}", lambda s, b: s == 200)
            self.check(by, "new thread page", f"/t/{body['id']}", lambda s, b: title in b)

    def reply(self) -> None:
        if not self.out.threads:
            return self.new_thread()
        thread = self.rng.choice(list(self.out.threads))
        token = word(self.rng)
        status, body, by = self.client.call(
            "POST", f"/api/threads/{thread}/comments", {"message": f"reply {token} words"}
        )
        if status == 201:
            self.out.served_by.add(by or "?")
            self.out.comments[body["id"]] = (thread, body["message"])
            self.out.newest_words.append(token)
            self.mine.append(body["id"])
            self.check(by, "reply", f"/api/comments/{body['id']}", lambda s, b: s == 200)
            self.check(by, "reply page", self.page_at(body), lambda s, b: token in b)

    def edit(self) -> None:
        if not self.mine:
            return self.reply()
        comment = self.rng.choice(self.mine)
        token = word(self.rng)
        status, body, by = self.client.call(
            "PATCH", f"/api/comments/{comment}", {"message": f"edited {token}"}
        )
        if status == 200:
            self.out.comments[comment] = (body["thread_id"], body["message"])
            self.out.newest_words.append(token)
            self.check(
                by,
                "edit",
                f"/api/comments/{comment}",
                lambda s, b: s == 200 and b["message"] == f"edited {token}",
            )
            self.check(by, "edit page", self.page_at(body), lambda s, b: token in b)

    def move(self) -> None:
        targets = [t for t in self.everyone_threads() if t]
        if not self.mine or not targets:
            return self.reply()
        comment, target = self.rng.choice(self.mine), self.rng.choice(targets)
        status, body, by = self.client.call(
            "PATCH", f"/api/comments/{comment}", {"thread_id": target}
        )
        if status == 200:
            self.out.comments[comment] = (target, body["message"])
            self.check(
                by,
                "move",
                f"/api/comments/{comment}",
                lambda s, b: s == 200 and b["thread_id"] == target,
            )
            self.check(by, "move page", self.page_at(body), lambda s, b: body["message"] in b)

    def delete(self) -> None:
        if not self.mine:
            return self.reply()
        comment = self.mine.pop(self.rng.randrange(len(self.mine)))
        status, _, by = self.client.call("DELETE", f"/api/comments/{comment}")
        if status == 204:
            self.out.deleted.add(comment)
            self.check(by, "delete", f"/api/comments/{comment}", lambda s, b: s == 404)

    everyone_threads = staticmethod(lambda: [])  # set by the test: every thread made so far

    def run(self, stop_at: float) -> None:
        actions = [self.new_thread] + [self.reply] * 4 + [self.edit] * 2 + [self.delete]
        if self.moderator:
            actions += [self.move] * 3
        while time.monotonic() < stop_at:
            self.rng.choice(actions)()


def test_the_cluster_under_mixed_writes(cluster: Cluster):
    engine = create_engine(cluster.database)
    try:
        with CountedSession(engine) as session:
            names = [make_user(session, f"loader{n}").username for n in range(CLIENTS - 1)]
            names.append(make_user(session, "loadmod", role="moderator").username)
            make_board(session, "load")
            session.commit()
        writers = [
            Writer(cluster, name, name == "loadmod", "load", seed=n) for n, name in enumerate(names)
        ]
        everyone = lambda: [t for w in writers for t in list(w.out.threads)]  # noqa: E731
        for writer in writers:
            writer.everyone_threads = everyone  # type: ignore[method-assign]
        stop_at = time.monotonic() + LOAD_SECONDS
        failures: list[BaseException] = []

        def run(writer: Writer) -> None:
            try:
                writer.run(stop_at)
            except BaseException as error:
                failures.append(error)

        threads = [threading.Thread(target=run, args=(w,)) for w in writers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not failures, failures

        statuses = [s for w in writers for s in w.client.statuses]
        writes = [s for s in statuses if s[0] != "GET"]
        assert len(writes) > 100, f"only {len(writes)} writes in {LOAD_SECONDS} s"
        assert [s for s in statuses if s[2] >= 500 or s[2] == 0] == []
        stale = [line for w in writers for line in w.out.stale]
        assert stale == []
        assert {by for w in writers for by in w.out.served_by} == set(cluster.web)

        # every 201 is stored, as last written (and every 204 is gone)
        threads_made = {t: title for w in writers for t, title in w.out.threads.items()}
        comments = {c: v for w in writers for c, v in w.out.comments.items()}
        deleted = {c for w in writers for c in w.out.deleted}
        with engine.connect() as connection:
            stored_threads = dict(connection.execute(select(Thread.id, Thread.title)).all())
            stored = {
                str(c): (str(t), m)
                for c, t, m in connection.execute(
                    select(Comment.id, Comment.thread_id, Comment.message)
                ).all()
            }
        stored_titles = {str(t): title for t, title in stored_threads.items()}
        assert stored_titles.items() >= threads_made.items()
        for comment, expected in comments.items():
            if comment in deleted:
                assert comment not in stored
            else:
                assert stored.get(comment) == expected, comment

        reconcile = subprocess.run(
            [str(BIN / "forum-reconcile"), str(ROOT / "cluster.ini")],
            capture_output=True,
            text=True,
            env={
                **os.environ,
                "FORUM_DATABASE_URL": cluster.database.render_as_string(False),
                "FORUM_SESSION_SECRET": (cluster.folder / "session_secret").read_text(),
            },
            timeout=120,
        )
        assert reconcile.returncode == 0, reconcile.stdout + reconcile.stderr

        # the Celery worker catches the materialized view up: the newest words are found
        alive = {m for c, (_, m) in comments.items() if c not in deleted}
        words = [
            next(x for x in w.out.newest_words[::-1] if any(x in m for m in alive))
            for w in writers
            if any(x in m for x in w.out.newest_words for m in alive)
        ]
        assert words
        reader = Client(cluster.url)
        deadline = time.monotonic() + SEARCH_CATCH_UP_SECONDS
        missing = list(words)
        while missing and time.monotonic() < deadline:
            missing = [
                x for x in missing if reader.call("GET", f"/api/search?q={x}")[1]["total"] < 1
            ]
            time.sleep(0.5)
        assert missing == [], "the materialized search view did not catch up"
    finally:
        engine.dispose()


def test_a_killed_web_process_is_replaced_and_the_balancer_routes_around_it(cluster: Cluster):
    state = json.loads((cluster.folder / "state.json").read_text())
    victim = state["web"]["web1"]
    os.kill(victim["pid"], signal.SIGKILL)
    client = Client(cluster.url)
    # meanwhile the balancer sends everything to the process still standing
    answers = [client.call("GET", "/api/boards") for _ in range(20)]
    assert [status for status, _, _ in answers] == [200] * 20
    # and the supervisor starts web1 again, on its own port
    own = f"http://127.0.0.1:{victim['port']}/api/boards"
    deadline = time.monotonic() + 60
    while client.call("GET", "", base=own)[0] != 200:
        assert time.monotonic() < deadline, "web1 was not started again"
        time.sleep(0.2)
    said = (cluster.folder / "forum-cluster.log").read_text()
    assert f"web1 (pid {victim['pid']}) exited with -9: restarting" in said
