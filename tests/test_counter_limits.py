"""What each strategy shows in memory, and what none of them can see.

The limit is shown, not hidden: the test makes the drift happen and then
shows ``forum.reconcile`` (the ``forum-reconcile --fix`` tool) repairing it.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from forum.models import Comment
from forum.reconcile import reconcile

from .counter_helpers import assert_no_drift, stored_thread
from .factories import make_board, make_thread, make_user


@pytest.fixture
def thread(dbsession: Session):
    alice = make_user(dbsession)
    thread = make_thread(dbsession, make_board(dbsession), alice, "one two three")
    dbsession.commit()
    return thread


def test_in_memory_counters(dbsession: Session, thread, counter_strategy):
    """``attribute`` is right the moment the comment joins the session; all are after a flush."""
    comment = Comment(thread=thread, author_id=thread.author_id, message="four five")
    dbsession.add(comment)
    if counter_strategy == "attribute":
        assert (thread.word_count, thread.comment_count) == (5, 2)
        assert thread.board.comment_count == 2
    dbsession.flush()
    assert (thread.word_count, thread.comment_count) == (5, 2)
    assert (thread.board.thread_count, thread.board.comment_count) == (1, 2)
    comment.message = "four"
    if counter_strategy == "attribute":
        assert thread.word_count == 4
    dbsession.flush()
    assert thread.word_count == 4 == stored_thread(dbsession.connection(), thread.id)[0]


def test_sql_outside_the_session_is_invisible_to_every_strategy(
    dbsession: Session, thread, counter_strategy
):
    dbsession.connection().execute(
        text("UPDATE comments SET message = 'a b c d e f g' WHERE thread_id = :id"),
        {"id": thread.id},
    )
    report = reconcile(dbsession.connection())
    assert [(d.kind, d.column, d.stored, d.true) for d in report.drift] == [
        ("thread", "word_count", 3, 7)
    ]
    reconcile(dbsession.connection(), fix=True)
    assert_no_drift(dbsession.connection())


def test_expiring_a_thread_before_the_flush_loses_nothing(
    dbsession: Session, thread, counter_strategy
):
    """Every strategy writes recorded deltas, never a thread's in-memory value.

    (The classic attribute recipe flushes the in-memory value, so discarding it
    with expire() would lose the change: see forum/bench/naive.py.)
    """
    dbsession.add(Comment(thread=thread, author_id=thread.author_id, message="four five"))
    dbsession.expire(thread)
    dbsession.commit()
    assert stored_thread(dbsession.connection(), thread.id) == (5, 2)
    assert_no_drift(dbsession.connection())
