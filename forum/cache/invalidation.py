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

from collections.abc import Iterable
from itertools import chain
from typing import Any

from sqlalchemy import Connection, event, inspect, select
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker
from sqlalchemy.orm.util import identity_key

from ..counters.history import committed_value
from ..models import Board, Comment, Thread, User
from . import keys
from .store import Cache

#: Where a session collects the scopes its flushes made stale (``Session.info``).
STALE = "forum.cache_stale"
#: The parents rows belonged to before the flush under way (``Session.info``).
OLD = "forum.cache_old_parents"

threads_table = Thread.__table__
boards_table = Board.__table__


def _values(obj: Any, attribute: str) -> set[Any]:
    """The attribute's value now and before this flush's change (a move has both)."""
    history = inspect(obj).attrs[attribute].history
    return {v for v in chain(history.added, history.unchanged, history.deleted) if v is not None}


def _loaded(session: Session, cls: type, key: Any, attribute: str) -> set[Any] | None:
    """``attribute``'s values on the ``cls`` object ``key`` if the session holds it loaded."""
    obj = session.identity_map.get(identity_key(cls, key))
    if obj is None or attribute not in obj.__dict__:
        return None
    return _values(obj, attribute)


def _board_slugs(session: Session, thread_ids: set[Any], board_ids: set[Any]) -> set[str]:
    """The slugs of these boards and of these threads' boards: from the session when
    it holds them, else with at most two SELECTs on the flush's connection."""
    board_ids = set(board_ids)
    unknown_threads = set()
    for thread_id in thread_ids:
        found = _loaded(session, Thread, thread_id, "board_id")
        if found is None:
            unknown_threads.add(thread_id)
        else:
            board_ids |= found
    connection = session.connection()
    if unknown_threads:
        board_ids.update(
            connection.execute(
                select(threads_table.c.board_id).where(threads_table.c.id.in_(unknown_threads))
            ).scalars()
        )
    slugs: set[str] = set()
    unknown_boards = set()
    for board_id in board_ids:
        found = _loaded(session, Board, board_id, "slug")
        if found is None:
            unknown_boards.add(board_id)
        else:
            slugs |= found
    if unknown_boards:
        slugs.update(
            connection.execute(
                select(boards_table.c.slug).where(boards_table.c.id.in_(unknown_boards))
            ).scalars()
        )
    return slugs


def old_parents(session: Session) -> set[tuple[str, Any]]:
    """Before a flush: the threads and boards that changed or deleted rows belong to now.

    A move through the relationship (``comment.thread = other``) reaches the
    foreign key only during the flush, and leaves no trace of the old value
    after it: this is where the old side of a move is seen.
    """
    found: set[tuple[str, Any]] = set()
    for obj in chain(session.dirty, session.deleted):
        if isinstance(obj, Comment):
            found.add(("thread", committed_value(obj, "thread_id")))
        elif isinstance(obj, Thread):
            found.add(("board", committed_value(obj, "board_id")))
    return found


def stale_scopes(session: Session, old: Iterable[tuple[str, Any]] = ()) -> set[str]:
    """The scopes the session's pending changes make stale (called after a flush's SQL).

    ``old`` adds the parents ``old_parents`` saw before the flush.
    """
    old = list(old)
    threads = {key for kind, key in old if kind == "thread" and key is not None}
    boards = {key for kind, key in old if kind == "board" and key is not None}
    slugs: set[str] = set()
    for obj in chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, Comment):
            threads |= _values(obj, "thread_id")
        elif isinstance(obj, Thread):
            threads.add(obj.id)
            boards |= _values(obj, "board_id")
        elif isinstance(obj, Board):
            slugs |= _values(obj, "slug")  # a renamed board: both addresses
    members = any(isinstance(obj, User) for obj in chain(session.new, session.deleted))
    if not (threads or boards or slugs):
        return {keys.BOARDS} if members else set()  # the index's member count
    slugs |= _board_slugs(session, threads, boards)
    return {
        keys.BOARDS,
        keys.SEARCH,
        *(keys.thread(t) for t in threads),
        *(keys.board(s) for s in slugs),
    }


def scopes_of_rows(
    connection: Connection, thread_ids: Iterable[Any], board_ids: Iterable[Any]
) -> set[str]:
    """The scopes of rows written outside the app's sessions (``forum-reconcile --fix``)."""
    thread_ids, board_ids = list(thread_ids), list(board_ids)
    if not thread_ids and not board_ids:
        return set()
    of_threads = select(threads_table.c.board_id).where(threads_table.c.id.in_(thread_ids))
    slugs = connection.execute(
        select(boards_table.c.slug).where(
            boards_table.c.id.in_(board_ids) | boards_table.c.id.in_(of_threads)
        )
    ).scalars()
    return {keys.BOARDS, *(keys.thread(t) for t in thread_ids), *(keys.board(s) for s in slugs)}


def install(session_factory: sessionmaker, cache: Cache) -> None:
    """Collect stale scopes in ``session_factory``'s flushes; invalidate them on commit."""

    def remember_old(session: Session, flush_context: Any, instances: Any) -> None:
        session.info[OLD] = old_parents(session)

    def collect(session: Session, flush_context: Any) -> None:
        found = stale_scopes(session, session.info.pop(OLD, set()))
        if found:
            session.info.setdefault(STALE, set()).update(found)

    def committed(session: Session) -> None:
        stale = session.info.pop(STALE, None)
        if stale:
            cache.invalidate(stale)

    def ended(session: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is None:  # the outermost one: rolled back if still noted
            session.info.pop(STALE, None)

    event.listen(session_factory, "before_flush", remember_old)
    event.listen(session_factory, "after_flush", collect)
    event.listen(session_factory, "after_commit", committed)
    event.listen(session_factory, "after_transaction_end", ended)
