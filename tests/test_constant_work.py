"""A comment write costs the same on a thread of 3 comments and of 300.

Counts the SQL statements each write issues and the Comment rows the ORM
loads, under every strategy: no strategy reads a thread's comment collection
or aggregates over comments, so the numbers do not grow with the thread.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from forum.models import Comment, Thread

from .counter_helpers import assert_session_exact, comments_loaded, statements_on
from .factories import make_board, make_thread, make_user

pytestmark = pytest.mark.usefixtures("counter_strategy")

AGGREGATES = re.compile(r"\b(count|sum)\s*\(", re.IGNORECASE)


def _grow(session: Session, thread: Thread, author_id: int, size: int) -> None:
    """Add ``size - 1`` comments with Core (fast), then set the counters to match."""
    thread_id, board_id = thread.id, thread.board_id
    if size > 1:
        session.connection().execute(
            insert(Comment.__table__),
            [
                {
                    "thread_id": thread_id,
                    "author_id": author_id,
                    "message": "filler words",
                    "version": 1,
                }
                for _ in range(size - 1)
            ],
        )
        session.connection().exec_driver_sql(
            "UPDATE threads SET word_count = word_count + %s, comment_count = comment_count + %s"
            " WHERE id = %s",
            (2 * (size - 1), size - 1, thread_id),
        )
        session.connection().exec_driver_sql(
            "UPDATE boards SET comment_count = comment_count + %s WHERE id = %s",
            (size - 1, board_id),
        )
        session.connection().exec_driver_sql(
            "UPDATE users SET comment_count = comment_count + %s WHERE id = %s",
            (size - 1, author_id),
        )
    session.commit()
    session.expunge_all()


def _writes(session: Session, thread_id, other_id, author_id) -> dict[str, tuple[int, int, list]]:
    """Run create, edit, move and delete from a clean session; record statements and loads."""
    results = {}

    def measure(name, action):
        session.expunge_all()
        with statements_on(session.connection()) as log, comments_loaded() as loaded:
            action()
            session.flush()
        results[name] = (len(log), len(loaded), list(log))

    created = {}

    def create():
        thread = session.get(Thread, thread_id)
        comment = Comment(thread=thread, author_id=author_id, message="a new comment")
        session.add(comment)
        created["id"] = comment.id

    measure("create", create)
    measure("edit", lambda: setattr(session.get(Comment, created["id"]), "message", "edited"))
    measure("move", lambda: setattr(session.get(Comment, created["id"]), "thread_id", other_id))
    measure("delete", lambda: session.delete(session.get(Comment, created["id"])))
    session.commit()
    return results


def test_statements_per_write_do_not_grow_with_the_thread(dbsession: Session):
    alice = make_user(dbsession)
    board = make_board(dbsession)
    small = make_thread(dbsession, board, alice, title="small")
    big = make_thread(dbsession, board, alice, title="big")
    other = make_thread(dbsession, board, alice, title="other")
    dbsession.commit()
    ids = (small.id, big.id, other.id, alice.id)
    _grow(dbsession, big, ids[3], 300)
    _grow(dbsession, dbsession.get(Thread, ids[0]), ids[3], 3)

    on_small = _writes(dbsession, ids[0], ids[2], ids[3])
    on_big = _writes(dbsession, ids[1], ids[2], ids[3])

    for name in ("create", "edit", "move", "delete"):
        statements, loaded, log = on_big[name]
        assert statements == on_small[name][0], (name, log, on_small[name][2])
        assert loaded <= 1, (name, log)  # only the comment being written
        assert not any(AGGREGATES.search(s) for s in log), (name, log)
        selects_of_comments = [s for s in log if s.startswith("SELECT") and "FROM comments" in s]
        assert all("comments.id" in s.split("WHERE", 1)[-1] for s in selects_of_comments), log
    assert_session_exact(dbsession)
    assert dbsession.scalar(select(Thread.comment_count).where(Thread.id == ids[1])) == 300


def test_a_comment_read_for_update_is_not_locked_again(dbsession: Session, counter_strategy):
    """The JSON API reads a comment FOR UPDATE before changing it: that lock is enough,
    so an edit or a delete issues no statement but the comment's own and the counters'."""
    alice = make_user(dbsession)
    thread = make_thread(dbsession, make_board(dbsession), alice, "one two three")
    dbsession.commit()
    comment_id = dbsession.scalars(select(Comment.id).where(Comment.thread_id == thread.id)).one()
    for change in ("edit", "delete"):
        comment = dbsession.get(Comment, comment_id, with_for_update=True, populate_existing=True)
        with statements_on(dbsession.connection()) as log:
            if change == "edit":
                comment.message = "one two three four"
            else:
                dbsession.delete(comment)
            dbsession.flush()
        assert not log.matching("FOR UPDATE"), (change, list(log))
        # The comment's write, then the counters: an edit moves the thread's words alone
        # (one UPDATE); a delete takes from the thread, then from its board and the author
        # (two: a statement that takes away never locates its parent through a row it
        # waited for; forum/counters/parent_writer.py says why).
        assert len(log) == {"edit": 2, "delete": 3}[change], (change, list(log))
        assert_session_exact(dbsession)
