"""Checks for the drift tests (issue 11): the database and memory, each with its own message.

``assert_session_exact`` flushes and then checks both at once; the drift tests
need to say *which* promise broke. The database must never drift, under any
strategy; in-memory counters are promised fresh after a flush by every
strategy, and before it by ``attribute`` alone, so they are checked apart.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, inspect, select, text
from sqlalchemy.orm import Session

from forum.counting import CounterBypassError
from forum.models import Board, Thread, User
from forum.reconcile import reconcile

from .counter_helpers import stored_board, stored_thread, stored_user

COUNTERS: dict[type, tuple[str, ...]] = {
    Thread: ("word_count", "comment_count"),
    Board: ("thread_count", "comment_count"),
    User: ("comment_count",),
}


def db_drift(connection: Connection) -> list[str]:
    """Every counter in the database that differs from the truth, as text."""
    return [str(d) for d in reconcile(connection).drift]


def check_db(session: Session, when: str = "") -> None:
    """The database's counters equal the truth (nothing is flushed here)."""
    drift = db_drift(session.connection())
    assert drift == [], f"database drift {when}:\n" + "\n".join(drift)


def memory_errors(session: Session) -> list[str]:
    """Loaded counters of persistent threads and boards that differ from their rows.

    Only values already in ``__dict__`` are read (reading an expired one would
    load it from the row and prove nothing).
    """
    connection = session.connection()
    errors = []
    for obj in list(session.identity_map.values()):
        names = COUNTERS.get(type(obj))
        state = inspect(obj)
        if names is None or state.deleted or not all(n in state.dict for n in names):
            continue
        held = tuple(state.dict[n] for n in names)
        read = {Thread: stored_thread, Board: stored_board, User: stored_user}[type(obj)]
        stored = read(connection, state.key[1][0])
        if held != stored:
            errors.append(f"{obj!r}: in memory {names} = {held}, database {stored}")
    return errors


def check_memory(session: Session, when: str = "") -> None:
    """The session's loaded counters equal the database's (run after a database check)."""
    errors = memory_errors(session)
    assert errors == [], f"in-memory counters wrong {when}:\n" + "\n".join(errors)


def flush_and_check(session: Session, *, memory: bool = True) -> None:
    """Flush, then the database; then, where every strategy promises it, memory."""
    session.flush()
    check_db(session, "after flush")
    if memory:
        check_memory(session, "after flush")


Shown = dict[int, tuple[Any, tuple[Any, ...]]]


def counters_shown(session: Session) -> Shown:
    """The counters the session shows now, for objects that hold them loaded."""
    shown = {}
    for obj in [*session.identity_map.values(), *session.new]:
        names = COUNTERS.get(type(obj))
        state = inspect(obj)
        if names and obj not in session.deleted and all(n in state.dict for n in names):
            shown[id(obj)] = (obj, tuple(state.dict[n] for n in names))
    return shown


def shown_but_not_written(
    session: Session, shown: Shown, label: Callable[[Any], str] = repr
) -> list[str]:
    """Counters ``shown`` before a flush that differ from what the flush wrote, as text
    (rows since deleted, and objects that never got a row, are not compared)."""
    connection = session.connection()
    wrong = []
    for obj, held in shown.values():
        state = inspect(obj)
        if state.key is None or state.deleted or state.detached:
            continue
        table = type(obj).__table__
        names = COUNTERS[type(obj)]
        row = connection.execute(
            select(*(table.c[n] for n in names)).where(table.c.id == state.key[1][0])
        ).one_or_none()
        if row is not None and tuple(row) != held:
            wrong.append(f"{label(obj)}: showed {held}, flush wrote {tuple(row)}")
    return wrong


def flush_and_check_shown(session: Session, strategy: str) -> None:
    """``flush_and_check``; under ``attribute``, also: every loaded counter it showed
    before the flush is what the flush wrote (its promise of memory before a flush)."""
    shown = counters_shown(session) if strategy == "attribute" else {}
    flush_and_check(session)
    wrong = shown_but_not_written(session, shown)
    assert wrong == [], "attribute: in-memory counters before the flush wrong:\n" + "\n".join(wrong)


def commit_and_check(session: Session) -> None:
    """Commit (a SAVEPOINT release of the test's transaction), then the database."""
    session.commit()
    check_db(session, "after commit")


def expect_in_memory(strategy: str, obj: Thread | Board, expected: tuple[int, int]) -> None:
    """``attribute`` promises fresh counters before any flush; the others do not."""
    if strategy != "attribute":
        return
    names = COUNTERS[type(obj)]
    held = tuple(inspect(obj).dict.get(n) for n in names)
    assert held == expected, f"attribute: {obj!r} before flush holds {held}, want {expected}"


def snapshot(connection: Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the counted tables (to prove a refused operation changed nothing)."""
    return {
        table: [tuple(row) for row in connection.execute(text(query))]
        for table, query in {
            "comments": "SELECT id, thread_id, message, version FROM comments ORDER BY id",
            "threads": "SELECT id, board_id, word_count, comment_count FROM threads ORDER BY id",
            "boards": "SELECT id, thread_count, comment_count FROM boards ORDER BY id",
        }.items()
    }


def refused_or_exact(
    session: Session,
    operation: Callable[[], object],
    *,
    also_refused_by: tuple[type[Exception], ...] = (),
) -> str:
    """Run ``operation`` then commit: either it is refused with CounterBypassError (or one
    of ``also_refused_by``, SQLAlchemy's own refusals) leaving every row as it was, or
    the counters stay exact. Returns "refused" or "exact"."""
    connection = session.bind
    assert isinstance(connection, Connection)
    before = snapshot(connection)
    try:
        operation()
        session.flush()
    except (CounterBypassError, *also_refused_by):
        # Read through the connection itself: the session may be waiting for a rollback.
        assert snapshot(connection) == before, "refused, but rows changed before the refusal"
        session.rollback()
        check_db(session, "after the refusal")
        return "refused"
    check_db(session, "after flush")
    commit_and_check(session)
    return "exact"
