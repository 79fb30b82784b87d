"""Invalidation on commit: what a transaction made stale, forgotten once it commits.

During each flush the session notes the scopes its changes make stale
(``stale_scopes``): a comment's thread, that thread's board, the board index
and the search results (a comment changes its thread's and board's counters,
which the strategies write with Core UPDATEs the session never sees as
objects); a thread's own scope and its board's; a moved comment or thread
stales both places. After the transaction commits, those scopes get new
generations (``Cache.invalidate``): in Redis, so every process sees it on its
next read. A rollback forgets them unapplied; a cache that cannot be reached
is logged and the commit stands (values then expire within
``forum.cache_expiration_seconds``).

The listeners go on the app's own session factory, never on SQLAlchemy's
``Session`` class, so sessions made elsewhere are not touched.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from itertools import chain
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker
from sqlalchemy.orm.util import identity_key

from ..models import Board, Comment, Thread
from . import keys
from .store import Cache

#: Where a session collects the scopes its flushes made stale (``Session.info``).
STALE = "forum.cache_stale"

threads_table = Thread.__table__


def _values(obj: Any, attribute: str) -> set[Any]:
    """The attribute's value now and before this flush's change (a move has both)."""
    history = inspect(obj).attrs[attribute].history
    return {v for v in chain(history.added, history.unchanged, history.deleted) if v is not None}


def _boards_of(session: Session, thread_ids: Iterable[uuid.UUID]) -> set[Any]:
    """The boards of these threads: from the session when loaded, else one SELECT."""
    boards: set[Any] = set()
    unknown = []
    for thread_id in thread_ids:
        thread = session.identity_map.get(identity_key(Thread, thread_id))
        if thread is not None and "board_id" in thread.__dict__:
            boards |= _values(thread, "board_id")
        else:
            unknown.append(thread_id)
    if unknown:
        rows = session.connection().execute(
            select(threads_table.c.board_id).where(threads_table.c.id.in_(unknown))
        )
        boards.update(rows.scalars())
    return boards


def stale_scopes(session: Session) -> set[str]:
    """The scopes the session's pending changes make stale (called during a flush)."""
    threads: set[Any] = set()
    boards: set[Any] = set()
    for obj in chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, Comment):
            threads |= _values(obj, "thread_id")
        elif isinstance(obj, Thread):
            threads.add(obj.id)
            boards |= _values(obj, "board_id")
        elif isinstance(obj, Board):
            boards.add(obj.id)
    if not threads and not boards:
        return set()
    boards |= _boards_of(session, threads)
    return {
        keys.BOARDS,
        keys.SEARCH,
        *(keys.thread(t) for t in threads),
        *(keys.board(b) for b in boards),
    }


def install(session_factory: sessionmaker, cache: Cache) -> None:
    """Collect stale scopes in ``session_factory``'s flushes; invalidate them on commit."""

    def collect(session: Session, flush_context: Any) -> None:
        found = stale_scopes(session)
        if found:
            session.info.setdefault(STALE, set()).update(found)

    def committed(session: Session) -> None:
        stale = session.info.pop(STALE, None)
        if stale:
            cache.invalidate(stale)

    def ended(session: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is None:  # the outermost one: rolled back if still noted
            session.info.pop(STALE, None)

    event.listen(session_factory, "after_flush", collect)
    event.listen(session_factory, "after_commit", committed)
    event.listen(session_factory, "after_transaction_end", ended)
