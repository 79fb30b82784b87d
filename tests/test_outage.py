"""With no database reachable, every request is a quick 503 with Retry-After, never a 500.

The app is pointed at a loopback port nothing listens on, so each connection is
refused at once. The real outage (a database stopped and started under load)
is in test_faults.py.
"""

from __future__ import annotations

import socket
import time

import pytest
from webtest import TestApp

from forum import main

from .harness import TEST_SETTINGS


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def no_database():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FORUM_DATABASE_URL", f"postgresql://postgres@127.0.0.1:{closed_port()}/x")
        app = main({}, **TEST_SETTINGS)
    return TestApp(app)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/boards", None),
        ("GET", "/api/threads/00000000-0000-4000-8000-000000000000", None),
        ("POST", "/api/session", {"username": "alice", "password": "a long password"}),
        ("POST", "/api/users", {"username": "alice", "password": "a long password"}),
        ("GET", "/api/search?q=words", None),
    ],
)
def test_the_api_answers_503_json(no_database, method, path, body):
    started = time.monotonic()
    if body is None:
        response = no_database.request(path, method=method, expect_errors=True)
    else:
        response = no_database.post_json(path, body, expect_errors=True)
    assert time.monotonic() - started < 5
    assert response.status_int == 503, response.text
    assert response.headers["Retry-After"] == "5"
    assert response.json["error"]["code"] == "unavailable"


@pytest.mark.parametrize(
    "path", ["/", "/b/general", "/search?q=words", "/t/00000000-0000-4000-8000-000000000000"]
)
def test_pages_answer_a_plain_503(no_database, path):
    response = no_database.get(path, status=503)
    assert response.headers["Retry-After"] == "5"
    assert "Back in a moment" in response.text
    assert response.headers["X-Frame-Options"] == "DENY"


def test_the_sign_in_form_answers_503(no_database):
    form = no_database.get("/login").forms[1]  # after the header's search form
    form["username"], form["password"] = "alice", "a long password"
    assert form.submit(status=503).headers["Retry-After"] == "5"


def test_what_needs_no_database_still_works(no_database):
    no_database.get("/static/forum.css", status=200)
    no_database.get("/login", status=200)
