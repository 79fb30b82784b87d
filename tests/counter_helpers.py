"""Assertions about counters, shared by the counter, concurrency and API tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, event, select
from sqlalchemy.orm import Session

from forum.counters.prepared import original
from forum.models import Board, Comment, Thread, User
from forum.reconcile import reconcile


def stored_thread(connection: Connection, thread_id: uuid.UUID) -> tuple[int, int]:
    """(word_count, comment_count) as the database holds them."""
    row = connection.execute(
        select(Thread.word_count, Thread.comment_count).where(Thread.id == thread_id)
    ).one()
    return tuple(row)


def stored_board(connection: Connection, board_id: int) -> tuple[int, int]:
    """(thread_count, comment_count) as the database holds them."""
    row = connection.execute(
        select(Board.thread_count, Board.comment_count).where(Board.id == board_id)
    ).one()
    return tuple(row)


def stored_user(connection: Connection, user_id: int) -> tuple[int]:
    """(comment_count,) as the database holds it."""
    row = connection.execute(select(User.comment_count).where(User.id == user_id)).one()
    return tuple(row)


def assert_no_drift(connection: Connection) -> None:
    """Every counter in the database equals the truth recomputed from the comments."""
    report = reconcile(connection)
    assert report.drift == [], "\n".join(str(d) for d in report.drift)


def assert_session_exact(session: Session) -> None:
    """Flush, then check the database, and the session's loaded counters, against the truth."""
    session.flush()
    connection = session.connection()
    assert_no_drift(connection)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Thread) and "word_count" in obj.__dict__:
            assert (obj.word_count, obj.comment_count) == stored_thread(connection, obj.id)
        elif isinstance(obj, Board) and "thread_count" in obj.__dict__:
            assert (obj.thread_count, obj.comment_count) == stored_board(connection, obj.id)
        elif isinstance(obj, User) and "comment_count" in obj.__dict__:
            assert (obj.comment_count,) == stored_user(connection, obj.id)


class StatementLog(list):
    """The SQL statements a connection executed, for counting and inspection."""

    def matching(self, *words: str) -> list[str]:
        return [s for s in self if all(w in s for w in words)]

    def counter_updates(self) -> list[str]:
        return [s for s in self if s.startswith("UPDATE threads") or s.startswith("UPDATE boards")]


@contextmanager
def statements_on(connection: Connection, *, as_sent: bool = False) -> Iterator[StatementLog]:
    """The statements ``connection`` executes in the block, a prepared counter statement
    read as its SQL (``as_sent``: the ``PREPARE``/``EXECUTE`` message itself)."""
    log = StatementLog()

    def capture(conn, cursor, statement, parameters, context, executemany) -> None:
        log.append(" ".join((statement if as_sent else original(conn, statement)).split()))

    event.listen(connection, "before_cursor_execute", capture)
    try:
        yield log
    finally:
        event.remove(connection, "before_cursor_execute", capture)


@contextmanager
def comments_loaded() -> Iterator[list[Comment]]:
    """Every Comment instance the ORM builds from a row while the block runs."""
    loaded: list[Comment] = []

    def on_load(target: Comment, context: object) -> None:
        loaded.append(target)

    event.listen(Comment, "load", on_load)
    try:
        yield loaded
    finally:
        event.remove(Comment, "load", on_load)
