"""Text that is not Unicode, in a query string, a form or a JSON body, is a 400, never a 500."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session
from webtest import TestApp

from forum.models import TEST_CONNECTION_KEY

from .factories import make_board, make_user

NOT_UTF8 = "%ED%A0%80"  # a UTF-8-encoded surrogate: invalid UTF-8


@pytest.fixture
def client(app, connection, dbsession: Session) -> TestApp:
    make_user(dbsession, "alice")
    make_board(dbsession, "general")
    dbsession.commit()
    return TestApp(app, extra_environ={TEST_CONNECTION_KEY: connection})


@pytest.mark.parametrize(
    "path",
    [
        f"/search?q={NOT_UTF8}",
        f"/login?next={NOT_UTF8}",
        f"/api/search?q={NOT_UTF8}",
        f"/api/boards/general/threads?limit={NOT_UTF8}",
    ],
)
def test_a_query_string_that_is_not_utf8(client, path):
    response = client.get(path, status=400)
    if path.startswith("/api/"):
        assert response.json["error"]["code"] == "malformed"
    else:
        assert "not valid UTF-8" in response.text


def test_a_form_that_is_not_utf8(client):
    token = client.get("/login").forms[1]["csrf_token"].value
    body = f"csrf_token={token}&username=al{NOT_UTF8}ice&password=x%ff".encode()
    client.post(
        "/login", params=body, content_type="application/x-www-form-urlencoded", status=(400, 422)
    )


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/session", {"username": "\ud800alice", "password": "a long password"}),
        ("/api/session", {"username": "alice", "password": "a long \udfff password"}),
        ("/api/users", {"username": "zed", "password": "a long \ud800 password"}),
    ],
)
def test_a_json_body_with_a_lone_surrogate(client, path, body):
    response = client.post_json(path, body, status=400)
    assert response.json["error"]["code"] == "malformed"
