"""Revocable sessions: sign-out everywhere, a new password and disabling end every session.

Each test keeps a copy of a signed-in cookie, revokes, then replays the copy:
it must get exactly what a signed-out visitor gets.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from webtest import TestApp

from forum.models import TEST_CONNECTION_KEY, User
from forum.passwords import PasswordHasher
from forum.services import accounts

from .api_client import ApiClient
from .factories import TEST_PASSWORD, make_board, make_thread, make_user
from .page_browser import Browser

COOKIE = "forum_session"


@pytest.fixture
def thread_id(dbsession: Session) -> str:
    alice = make_user(dbsession, "alice")
    make_user(dbsession, "bob")
    thread = make_thread(dbsession, make_board(dbsession, "general"), alice, "hello there")
    dbsession.commit()
    return str(thread.id)


@pytest.fixture
def new_client(app, connection):
    """A fresh browser (its own cookie jar) on the test's connection."""

    def make() -> TestApp:
        return TestApp(app, extra_environ={TEST_CONNECTION_KEY: connection})

    return make


def signed_in_api(new_client, username: str = "alice") -> tuple[ApiClient, str]:
    client = ApiClient(new_client())
    client.sign_in(username)
    return client, client.app.cookies[COOKIE]


def replay(new_client, cookie: str, csrf_token: str) -> ApiClient:
    """Another client that presents a copy of ``cookie`` (and its CSRF token)."""
    client = ApiClient(new_client())
    client.app.set_cookie(COOKIE, cookie)
    client.csrf_token = csrf_token
    return client


def assert_signed_out(client: ApiClient, thread_id: str) -> None:
    assert client.get("/api/session").json == {"user": None, "csrf_token": None}
    refused = client.post(f"/api/threads/{thread_id}/comments", {"message": "hi"}, status=401)
    assert refused.json["error"]["code"] == "not_signed_in"


def test_a_copied_cookie_works_until_revoked(new_client, thread_id):
    client, cookie = signed_in_api(new_client)
    copy = replay(new_client, cookie, client.csrf_token)
    assert copy.get("/api/session").json["user"]["username"] == "alice"
    copy.post(f"/api/threads/{thread_id}/comments", {"message": "from the copy"})


def test_sign_out_everywhere_ends_every_session(new_client, thread_id):
    laptop, laptop_cookie = signed_in_api(new_client)
    phone, _ = signed_in_api(new_client)
    bob, _ = signed_in_api(new_client, "bob")
    laptop.delete("/api/sessions")
    assert_signed_out(phone, thread_id)
    assert_signed_out(replay(new_client, laptop_cookie, laptop.csrf_token), thread_id)
    # Other accounts are untouched, and signing in again works.
    assert bob.get("/api/session").json["user"]["username"] == "bob"
    again, _ = signed_in_api(new_client)
    again.post(f"/api/threads/{thread_id}/comments", {"message": "back again"})


def test_plain_sign_out_leaves_other_sessions(new_client, thread_id):
    laptop, _ = signed_in_api(new_client)
    phone, _ = signed_in_api(new_client)
    laptop.delete("/api/session")
    assert phone.get("/api/session").json["user"]["username"] == "alice"


def test_sign_out_everywhere_needs_a_session_and_its_token(new_client, thread_id):
    anonymous = ApiClient(new_client())
    assert anonymous.delete("/api/sessions", status=401).json["error"]["code"] == "not_signed_in"
    client, _ = signed_in_api(new_client)
    client.csrf_token = "wrong"
    assert client.delete("/api/sessions", status=403).json["error"]["code"] == "csrf"
    assert client.app.get("/api/sessions", status=405).headers["Allow"] == "DELETE"


@pytest.mark.parametrize("revoke", ["new password", "disabled"])
def test_a_new_password_or_disabling_ends_every_session(
    new_client, thread_id, dbsession: Session, revoke
):
    client, cookie = signed_in_api(new_client)
    alice = dbsession.scalars(select(User).where(User.username == "alice")).one()
    if revoke == "new password":
        accounts.set_password(
            dbsession, PasswordHasher(time_cost=1, memory_cost=64), alice, "a brand new password"
        )
    else:
        accounts.set_disabled(dbsession, alice, True)
    dbsession.commit()
    assert_signed_out(replay(new_client, cookie, client.csrf_token), thread_id)
    assert_signed_out(client, thread_id)
    # The old password no longer works; a disabled account cannot sign in at all.
    ApiClient(new_client()).app.post_json(
        "/api/session", {"username": "alice", "password": TEST_PASSWORD}, status=401
    )
    if revoke == "new password":
        ApiClient(new_client()).sign_in("alice", "a brand new password")


def test_pages_treat_a_revoked_cookie_as_signed_out(new_client, thread_id):
    browser = Browser(new_client())
    browser.sign_in("alice")
    cookie = browser.app.cookies[COOKIE]
    token = browser.form(browser.get(f"/t/{thread_id}"), "/reply")["csrf_token"].value
    page = browser.get("/logout")
    browser.submit(page, "/logout/everywhere").follow()

    copy = Browser(new_client())
    # A write with the copied cookie and its token goes to the sign-in page, as a signed-out
    # visitor's does, and the revoked cookie is replaced by an empty session.
    copy.app.set_cookie(COOKIE, cookie)
    answer = copy.app.post(
        f"/t/{thread_id}/reply", {"message": "x", "csrf_token": token}, status=303
    )
    assert "/login" in answer.headers["Location"]
    assert copy.app.cookies.get(COOKIE) != cookie
    copy.app.set_cookie(COOKIE, cookie)
    assert "You are not signed in" in copy.get("/logout").text
    copy.app.set_cookie(COOKIE, cookie)
    assert "signed in as" not in copy.get(f"/t/{thread_id}").text


def test_the_sign_out_everywhere_page_refuses_odd_requests(new_client, thread_id):
    browser = Browser(new_client())
    browser.get("/logout/everywhere", status=404)
    browser.post_raw("/logout/everywhere", status=403)  # no CSRF token
    anonymous = Browser(new_client())
    token_page = anonymous.get("/login")
    token = anonymous.form(token_page, "/login")["csrf_token"].value
    answer = anonymous.app.post("/logout/everywhere", {"csrf_token": token}, status=303)
    assert "/login" in answer.headers["Location"]  # signed out already: sign in first
