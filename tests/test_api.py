"""The JSON API's happy paths; each write runs under every counter strategy, counters checked."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from .api_client import ApiClient
from .counter_helpers import assert_no_drift, statements_on
from .factories import TEST_PASSWORD, make_board, make_thread, make_user


@dataclass
class Forum:
    api: ApiClient
    connection: Connection
    general: str  # board slugs
    help: str
    thread_id: str  # a thread on "general" by alice, opening post of 3 words

    def thread(self, thread_id: str | None = None) -> dict:
        return self.api.get(f"/api/threads/{thread_id or self.thread_id}").json

    def board(self, slug: str) -> dict:
        return self.api.get(f"/api/boards/{slug}").json


@pytest.fixture
def forum(testapp, dbsession: Session, connection: Connection) -> Forum:
    alice = make_user(dbsession, "alice")
    make_user(dbsession, "bob")
    make_user(dbsession, "mod", role="moderator")
    general = make_board(dbsession, "general", "General")
    make_board(dbsession, "help", "Help")
    thread = make_thread(dbsession, general, alice, "hello there forum", title="Hello")
    dbsession.commit()
    return Forum(ApiClient(testapp), connection, "general", "help", str(thread.id))


def test_register_sign_in_and_out(forum: Forum):
    api = forum.api
    created = api.post("/api/users", {"username": "Carol", "password": TEST_PASSWORD}).json
    assert created == {"id": created["id"], "username": "carol", "role": "member"}
    signed_in = api.sign_in("CAROL")
    assert signed_in["user"]["username"] == "carol"
    assert len(signed_in["csrf_token"]) >= 32
    assert api.get("/api/session").json["user"]["username"] == "carol"
    api.delete("/api/session")
    assert api.get("/api/session").json == {"user": None, "csrf_token": None}


def test_session_cookie_flags(forum: Forum):
    response = forum.api.app.post_json(
        "/api/session", {"username": "alice", "password": TEST_PASSWORD}
    )
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_boards_and_threads(forum: Forum):
    boards = forum.api.get("/api/boards").json["boards"]
    assert boards == [
        {"slug": "general", "title": "General", "thread_count": 1, "comment_count": 1},
        {"slug": "help", "title": "Help", "thread_count": 0, "comment_count": 0},
    ]
    thread = forum.thread()
    assert {k: thread[k] for k in ("board", "title", "word_count", "comment_count")} == {
        "board": "general",
        "title": "Hello",
        "word_count": 3,
        "comment_count": 1,
    }
    listed = forum.api.get("/api/boards/general/threads").json
    assert [t["id"] for t in listed["threads"]] == [forum.thread_id]
    assert listed["next"] is None


@pytest.mark.usefixtures("counter_strategy")
def test_create_thread(forum: Forum):
    forum.api.sign_in("bob")
    thread = forum.api.post(
        "/api/boards/help/threads", {"title": "  Question  ", "message": "how do I\n  count?"}
    ).json
    assert thread["title"] == "Question"
    assert (thread["word_count"], thread["comment_count"]) == (4, 1)
    assert forum.board("help")["thread_count"] == 1
    assert forum.board("help")["comment_count"] == 1
    comments = forum.api.get(f"/api/threads/{thread['id']}/comments").json["comments"]
    assert comments[0]["message"] == "how do I\n  count?"  # kept exactly as written
    assert_no_drift(forum.connection)


@pytest.mark.usefixtures("counter_strategy")
def test_reply_edit_move_delete(forum: Forum):
    api = forum.api
    api.sign_in("bob")
    comment = api.post(f"/api/threads/{forum.thread_id}/comments", {"message": "one two"}).json
    assert comment["word_count"] == 2
    assert (forum.thread()["word_count"], forum.thread()["comment_count"]) == (5, 2)
    assert forum.board("general")["comment_count"] == 2

    edited = api.patch(f"/api/comments/{comment['id']}", {"message": "one two three four"}).json
    assert edited["word_count"] == 4
    assert forum.thread()["word_count"] == 7

    api.sign_in("mod")
    other = api.post("/api/boards/help/threads", {"title": "Elsewhere", "message": "x"}).json
    moved = api.patch(f"/api/comments/{comment['id']}", {"thread_id": other["id"]}).json
    assert moved["thread_id"] == other["id"]
    assert (forum.thread()["word_count"], forum.thread()["comment_count"]) == (3, 1)
    assert (
        forum.thread(other["id"])["word_count"],
        forum.thread(other["id"])["comment_count"],
    ) == (
        5,
        2,
    )
    assert (forum.board("general")["comment_count"], forum.board("help")["comment_count"]) == (1, 2)

    api.sign_in("bob")
    api.delete(f"/api/comments/{comment['id']}")
    assert forum.thread(other["id"])["comment_count"] == 1
    assert forum.board("help")["comment_count"] == 1
    api.delete(f"/api/comments/{comment['id']}", status=404)
    assert_no_drift(forum.connection)


@pytest.mark.usefixtures("counter_strategy")
def test_edit_and_move_in_one_request(forum: Forum):
    forum.api.sign_in("mod")
    other = forum.api.post("/api/boards/help/threads", {"title": "T", "message": "a"}).json
    first = forum.api.get(f"/api/threads/{forum.thread_id}/comments").json["comments"][0]
    forum.api.patch(
        f"/api/comments/{first['id']}", {"message": "just two", "thread_id": other["id"]}
    )
    assert (forum.thread()["word_count"], forum.thread()["comment_count"]) == (0, 0)
    assert forum.thread(other["id"])["word_count"] == 3
    assert_no_drift(forum.connection)


@pytest.mark.usefixtures("counter_strategy")
def test_moderator_edits_and_deletes_others_comments(forum: Forum):
    forum.api.sign_in("bob")
    comment = forum.api.post(f"/api/threads/{forum.thread_id}/comments", {"message": "hi"}).json
    forum.api.sign_in("mod")
    forum.api.patch(f"/api/comments/{comment['id']}", {"message": "edited by a moderator"})
    forum.api.delete(f"/api/comments/{comment['id']}")
    assert forum.thread()["comment_count"] == 1
    assert_no_drift(forum.connection)


@pytest.mark.usefixtures("counter_strategy")
def test_moderator_deletes_a_thread(forum: Forum):
    forum.api.sign_in("bob")
    forum.api.post(f"/api/threads/{forum.thread_id}/comments", {"message": "a b c"})
    assert forum.board("general") == {
        "slug": "general",
        "title": "General",
        "thread_count": 1,
        "comment_count": 2,
    }
    forum.api.sign_in("mod")
    forum.api.delete(f"/api/threads/{forum.thread_id}")
    forum.api.get(f"/api/threads/{forum.thread_id}", status=404)
    assert (forum.board("general")["thread_count"], forum.board("general")["comment_count"]) == (
        0,
        0,
    )
    assert_no_drift(forum.connection)


def test_comments_paginate_by_cursor(forum: Forum):
    forum.api.sign_in("bob")
    for n in range(6):
        forum.api.post(f"/api/threads/{forum.thread_id}/comments", {"message": f"reply {n}"})
    seen, after = [], None
    while True:
        params = {"limit": 3} if after is None else {"limit": 3, "after": after}
        page = forum.api.get(f"/api/threads/{forum.thread_id}/comments", **params).json
        seen += [c["message"] for c in page["comments"]]
        after = page["next"]
        if after is None:
            break
    assert seen == ["hello there forum"] + [f"reply {n}" for n in range(6)]


def test_threads_paginate_newest_first(forum: Forum):
    forum.api.sign_in("bob")
    titles = [f"thread {n}" for n in range(4)]
    for title in titles:
        forum.api.post("/api/boards/general/threads", {"title": title, "message": "m"})
    page = forum.api.get("/api/boards/general/threads", limit=2).json
    assert [t["title"] for t in page["threads"]] == ["thread 3", "thread 2"]
    rest = forum.api.get("/api/boards/general/threads", limit=10, after=page["next"]).json
    assert [t["title"] for t in rest["threads"]] == ["thread 1", "thread 0", "Hello"]
    assert rest["next"] is None


def test_limit_is_capped(forum: Forum):
    page = forum.api.get(f"/api/threads/{forum.thread_id}/comments", limit=100000).json
    assert len(page["comments"]) == 1


def test_a_reply_costs_five_statements(forum: Forum, counter_strategy):
    """POST /api/threads/{id}/comments issues the signed-in user's SELECT, the thread's, the
    comment's INSERT, the thread's last-activity UPDATE and one UPDATE of the thread's and
    its board's counters: nothing is read only to keep the counters."""
    forum.api.sign_in("bob")
    with statements_on(forum.connection) as log:
        forum.api.post(f"/api/threads/{forum.thread_id}/comments", {"message": "four five six"})
    sql = [s for s in log if not s.startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]  # the test's
    assert len(sql) == 5, sql
    assert sum(s.startswith("SELECT") for s in sql) == 2, sql  # the user and the thread
    assert len(log.counter_updates()) + len(log.matching("WITH middle AS")) == 2, sql
    assert_no_drift(forum.connection)
