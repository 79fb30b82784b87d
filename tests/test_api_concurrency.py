"""Eight HTTP clients against a real waitress server, then ``forum-reconcile``: no drift.

The server runs the test app in its own threads with real commits (no test
connection), so pyramid_retry, pyramid_tm and the counter strategy meet real
concurrency. Afterwards the ``forum-reconcile`` console script itself checks
every counter and must exit 0.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from webtest.http import StopableWSGIServer

from forum.counting import CountedSession

from .factories import TEST_PASSWORD, make_board, make_thread, make_user

pytestmark = [pytest.mark.concurrency, pytest.mark.usefixtures("counter_strategy")]

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = 8
REQUESTS_PER_CLIENT = 30


class Client:
    """A JSON client with its own cookie jar, like a separate browser."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        self.csrf_token = ""

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        request.add_header("X-CSRF-Token", self.csrf_token)
        try:
            with self.opener.open(request, timeout=60) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else {}
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def sign_in(self, username: str) -> None:
        status, body = self.call(
            "POST", "/api/session", {"username": username, "password": TEST_PASSWORD}
        )
        assert status == 200, body
        self.csrf_token = body["csrf_token"]


@pytest.fixture
def server(app, committed_engine):
    with CountedSession(committed_engine) as session:
        mod = make_user(session, "mod", role="moderator")
        one, two = make_board(session, "one"), make_board(session, "two")
        t1 = make_thread(session, one, mod, "first thread opening post")
        t2 = make_thread(session, two, mod, "second thread opening post")
        session.commit()
        thread_ids = [str(t1.id), str(t2.id)]
    server = StopableWSGIServer.create(app, threads=CLIENTS)
    try:
        yield server.application_url.rstrip("/"), thread_ids
    finally:
        server.shutdown()


def test_eight_clients_then_reconcile_finds_no_drift(server, counter_strategy):
    base_url, thread_ids = server
    statuses: Counter = Counter()
    lock = threading.Lock()

    def client_run(seed: int) -> None:
        rng = random.Random(seed)
        client = Client(base_url)
        client.sign_in("mod")
        for _ in range(REQUESTS_PER_CLIENT):
            thread_id = rng.choice(thread_ids)
            action = rng.choice(["create", "create", "edit", "move", "delete"])
            words = " ".join(rng.choice("abcdef") for _ in range(rng.randint(1, 9)))
            if action == "create":
                status, _ = client.call(
                    "POST", f"/api/threads/{thread_id}/comments", {"message": words}
                )
            else:
                listed_status, listed = client.call(
                    "GET", f"/api/threads/{thread_id}/comments?limit=100"
                )
                assert listed_status == 200
                if not listed["comments"]:
                    continue
                comment_id = rng.choice(listed["comments"])["id"]
                if action == "edit":
                    status, _ = client.call(
                        "PATCH", f"/api/comments/{comment_id}", {"message": words}
                    )
                elif action == "move":
                    other = thread_ids[1] if thread_id == thread_ids[0] else thread_ids[0]
                    status, _ = client.call(
                        "PATCH", f"/api/comments/{comment_id}", {"thread_id": other}
                    )
                else:
                    status, _ = client.call("DELETE", f"/api/comments/{comment_id}")
            with lock:
                statuses[(action, status)] += 1

    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(client_run, range(CLIENTS)))

    # Every answer is a success, or "it was deleted meanwhile" (404); never a 500.
    assert {status for (_, status) in statuses} <= {200, 201, 204, 404}, statuses
    assert statuses[("create", 201)] > 0

    result = subprocess.run(
        [sys.executable, "-m", "forum.scripts.reconcile", str(ROOT / "development.ini")],
        capture_output=True,
        text=True,
        env={**os.environ, "FORUM_COUNTER_STRATEGY": counter_strategy},
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no drift" in result.stdout
