"""A request that loses a race is run again (pyramid_retry), not answered with an error."""

from __future__ import annotations

import psycopg2.errors
import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from forum.services import posting

from .api_client import ApiClient
from .counter_helpers import assert_no_drift
from .factories import add_comment, make_board, make_thread, make_user
from .page_browser import Browser


def deadlock() -> OperationalError:
    return OperationalError("UPDATE threads ...", {}, psycopg2.errors.DeadlockDetected())


@pytest.mark.usefixtures("counter_strategy")
@pytest.mark.parametrize(
    "race", [StaleDataError("comment changed meanwhile"), deadlock()], ids=["stale", "deadlock"]
)
def test_a_lost_race_is_retried(testapp, dbsession: Session, connection, monkeypatch, race):
    alice = make_user(dbsession)
    thread = make_thread(dbsession, make_board(dbsession), alice, "one two three")
    comment = add_comment(dbsession, thread, alice, "four five")
    dbsession.commit()
    real_edit = posting.edit_comment
    attempts = []

    def edit_losing_the_first_race(*args, **kwargs):
        attempts.append(1)
        real_edit(*args, **kwargs)
        if len(attempts) == 1:
            raise race

    monkeypatch.setattr(posting, "edit_comment", edit_losing_the_first_race)
    api = ApiClient(testapp)
    api.sign_in("alice")
    edited = api.patch(f"/api/comments/{comment.id}", {"message": "six"}).json
    assert len(attempts) == 2
    assert edited["word_count"] == 1
    thread_json = api.get(f"/api/threads/{thread.id}").json
    assert (thread_json["word_count"], thread_json["comment_count"]) == (4, 2)
    assert_no_drift(connection)


def test_a_race_lost_on_every_attempt_is_a_409(testapp, dbsession: Session, monkeypatch):
    alice = make_user(dbsession)
    thread = make_thread(dbsession, make_board(dbsession), alice, "one two three")
    comment = add_comment(dbsession, thread, alice, "four five")
    dbsession.commit()

    def always_stale(*args, **kwargs):
        raise StaleDataError("comment changed meanwhile")

    monkeypatch.setattr(posting, "edit_comment", always_stale)
    api = ApiClient(testapp)
    api.sign_in("alice")
    response = api.patch(f"/api/comments/{comment.id}", {"message": "six"}, status=409)
    assert response.json["error"]["code"] == "conflict"


def serialization_failure() -> OperationalError:
    return OperationalError("UPDATE threads ...", {}, psycopg2.errors.SerializationFailure())


@pytest.mark.parametrize("race", [deadlock, serialization_failure])
def test_a_lock_race_lost_on_every_attempt_is_a_503_on_the_api_and_the_pages(
    testapp, dbsession: Session, connection, monkeypatch, race
):
    """Not the client's fault and not an outage: busy, try again in a moment."""
    alice = make_user(dbsession)
    thread = make_thread(dbsession, make_board(dbsession), alice, "one two three")
    comment = add_comment(dbsession, thread, alice, "four five")
    dbsession.commit()
    attempts = []

    def always_losing(*args, **kwargs):
        attempts.append(1)
        raise race()

    monkeypatch.setattr(posting, "edit_comment", always_losing)
    api = ApiClient(testapp)
    api.sign_in("alice")
    answer = api.patch(f"/api/comments/{comment.id}", {"message": "six"}, status=503)
    assert answer.json["error"]["code"] == "busy"
    assert answer.headers["Retry-After"] == "1"
    assert len(attempts) == 3  # retry.attempts

    browser = Browser(testapp)
    browser.sign_in("alice")
    edit_page = browser.get(f"/c/{comment.id}/edit")
    page = browser.submit(edit_page, "/edit", status=503, message="six")
    assert page.headers["Retry-After"] == "1"
    assert "busy" in page.text
    assert len(attempts) == 6
    assert_no_drift(connection)
