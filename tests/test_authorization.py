"""Who may do what, on the API and the pages alike: one table, one policy (forum.authorization).

Alice wrote the thread and the comment; Bob is another member; "mod" is a moderator.
Every refused request changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session
from webtest import TestApp

from forum.models import Comment, Thread

from .api_client import ApiClient
from .counter_helpers import assert_no_drift
from .factories import add_comment, make_board, make_thread, make_user
from .page_browser import Browser

ACTORS = ("signed out", "author", "other member", "moderator")
SIGN_IN_AS = {"author": "alice", "other member": "bob", "moderator": "mod"}

OK, SIGN_IN, NO = "allowed", "sign in first", "refused"

#: action -> what each actor gets, in ACTORS order
MATRIX = {
    "read": (OK, OK, OK, OK),
    "reply": (SIGN_IN, OK, OK, OK),
    "edit": (SIGN_IN, OK, NO, OK),
    "delete": (SIGN_IN, OK, NO, OK),
    "move": (SIGN_IN, NO, NO, OK),
    "delete thread": (SIGN_IN, NO, NO, OK),
}
CASES = [
    pytest.param(action, actor, outcome, id=f"{action}-{actor}")
    for action, outcomes in MATRIX.items()
    for actor, outcome in zip(ACTORS, outcomes, strict=True)
]


@dataclass
class Ids:
    thread: str  # alice's thread, with her comment in it
    comment: str
    other: str  # a thread to move the comment to


@pytest.fixture
def ids(dbsession: Session) -> Ids:
    alice = make_user(dbsession, "alice")
    make_user(dbsession, "bob")
    make_user(dbsession, "mod", role="moderator")
    board = make_board(dbsession, "general")
    thread = make_thread(dbsession, board, alice, "hello there forum", title="Hello")
    other = make_thread(dbsession, board, alice, "over here", title="Elsewhere")
    comment = add_comment(dbsession, thread, alice, "a reply")
    dbsession.commit()
    return Ids(str(thread.id), str(comment.id), str(other.id))


def unchanged(dbsession: Session, ids: Ids) -> None:
    dbsession.expire_all()
    comment = dbsession.get(Comment, ids.comment)
    assert comment is not None and comment.message == "a reply"
    assert str(comment.thread_id) == ids.thread
    assert dbsession.scalars(select(Thread.id).where(Thread.id == ids.thread)).one_or_none()
    assert dbsession.scalar(select(Thread.comment_count).where(Thread.id == ids.thread)) == 2


# --- the API: 401 signed out, 403 refused, 2xx allowed -----------------------------------

API_REQUESTS = {
    "read": ("GET", "/api/comments/{comment}", None, 200),
    "reply": ("POST", "/api/threads/{thread}/comments", {"message": "m"}, 201),
    "edit": ("PATCH", "/api/comments/{comment}", {"message": "mine now"}, 200),
    "delete": ("DELETE", "/api/comments/{comment}", None, 204),
    "move": ("PATCH", "/api/comments/{comment}", {"thread_id": "{other}"}, 200),
    "delete thread": ("DELETE", "/api/threads/{thread}", None, 204),
}


@pytest.mark.parametrize(("action", "actor", "outcome"), CASES)
def test_api(
    testapp: TestApp, dbsession: Session, connection: Connection, ids, action, actor, outcome
):
    api = ApiClient(testapp)
    if actor in SIGN_IN_AS:
        api.sign_in(SIGN_IN_AS[actor])
    method, path, body, allowed_status = API_REQUESTS[action]
    path = path.format(**vars(ids))
    if body is not None:
        body = {key: value.format(**vars(ids)) for key, value in body.items()}
    status = {OK: allowed_status, SIGN_IN: 401, NO: 403}[outcome]
    if method == "GET":
        response = api.get(path, status=status)
    elif method == "POST":
        response = api.post(path, body, status=status)
    elif method == "PATCH":
        response = api.patch(path, body, status=status)
    else:
        response = api.delete(path, status=status)
    assert response.status_int == status, response.text
    if outcome != OK:
        code = "not_signed_in" if outcome == SIGN_IN else "forbidden"
        assert response.json["error"]["code"] == code
        unchanged(dbsession, ids)
    assert_no_drift(connection)


# --- the pages: a redirect to sign in, a 403 page, or the action done --------------------

PAGE_FORMS = {  # action -> (the page showing the form or None, the form's path, its fields)
    "read": ("/t/{thread}", None, {}),
    "reply": (None, "/t/{thread}/reply", {"message": "m"}),
    "edit": ("/c/{comment}/edit", "/c/{comment}/edit", {"message": "mine now"}),
    "delete": ("/c/{comment}/delete", "/c/{comment}/delete", {}),
    "move": ("/c/{comment}/move", "/c/{comment}/move", {"thread_id": "{other}"}),
    "delete thread": ("/t/{thread}/delete", "/t/{thread}/delete", {}),
}


def goes_to_sign_in(response) -> bool:
    return response.status_int == 303 and response.location.startswith(
        "http://localhost/login?next="
    )


@pytest.mark.parametrize(("action", "actor", "outcome"), CASES)
def test_pages(
    testapp: TestApp, dbsession: Session, connection: Connection, ids, action, actor, outcome
):
    browser = Browser(testapp)
    if actor in SIGN_IN_AS:
        browser.sign_in(SIGN_IN_AS[actor])
        token = browser.get("/").html.select_one("input[name=csrf_token]")["value"]
    else:  # an anonymous session's token, so the refusal is about who, not about the form
        token = browser.form(browser.get("/login"), "/login")["csrf_token"].value
    page, form, fields = PAGE_FORMS[action]
    if page is not None:  # the page with the form (or the page read): the same rule
        shown = testapp.get(page.format(**vars(ids)), expect_errors=True)
        if outcome == OK:
            assert shown.status_int == 200
        elif outcome == SIGN_IN:
            assert goes_to_sign_in(shown)
        else:
            assert shown.status_int == 403
            assert shown.html.select_one("h1").text == "Not allowed"
    if form is not None:
        fields = {name: value.format(**vars(ids)) for name, value in fields.items()}
        sent = testapp.post(
            form.format(**vars(ids)), {**fields, "csrf_token": token}, expect_errors=True
        )
        if outcome == OK:
            assert sent.status_int == 303 and not goes_to_sign_in(sent), sent.text
        elif outcome == SIGN_IN:
            assert goes_to_sign_in(sent)
        else:
            assert sent.status_int == 403
            assert sent.html.select_one("h1").text == "Not allowed"
    if outcome != OK:
        unchanged(dbsession, ids)
    assert_no_drift(connection)
