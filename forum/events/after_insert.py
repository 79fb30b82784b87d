"""Strategy ``after_insert``: a Core UPDATE from the mapper's flush events.

As each comment row is inserted, updated or deleted, the mapper's
``after_insert`` / ``after_update`` / ``after_delete`` listener issues
``UPDATE threads SET word_count = word_count + :delta ...`` (and the board's)
on the flush's own connection, so the counter changes in the same transaction
as the row. What left which thread is read in ``before_update`` and
``before_delete``, while the row still holds it (``rows_written``). Threads do
the same for their boards (``after_insert``, and ``before_update`` when moved
or ``before_delete``, while the row still names its board).

Counting the rows as they are written makes this strategy follow whatever
the unit of work decides (cancelled deletes, orphans, the relationship
winning over the key) without having to predict it.

One UPDATE pair per changed comment: simple and local, but a flush of a
hundred comments to one thread issues a hundred pairs (``before_flush`` nets
them into one). Within one comment the rows are locked threads-then-boards in
id order; across several comments they are locked in the order the flush
writes the comments, so two transactions that each write several threads in
opposite orders can deadlock; PostgreSQL detects it and the request is
retried.

Cannot see: changes that do not pass through the session (Core or raw SQL);
ORM bulk statements are refused (``bulk_guard``).
"""

from __future__ import annotations

from sqlalchemy import Connection
from sqlalchemy.orm import Mapper, Session, object_session

from ..models import Board, Comment, Thread, User
from ..orm_history import changed
from .bulk_guard import GUARDS
from .copies import BOOKKEEPING, start_at_zero
from .deltas import BoardDelta, share_change
from .flush_plan import Share
from .ownership import OWNED_COUNTERS
from .parent_updates import ParentUpdates
from .rows_written import (
    forget,
    keep_old_row_before_delete,
    keep_old_row_before_update,
    new_row,
    old_row,
)
from .strategy import CounterStrategy, Listener


def _write(connection: Connection, comment: Comment, old: Share | None, new: Share | None) -> None:
    updates = ParentUpdates()
    threads, authors = share_change(old, new)
    for author, comments in authors:
        updates.add_to_user(author, comments)  # rows are written: an author has its id
    for thread_id, delta in threads:
        if thread_id is not None:
            updates.add_to_thread(thread_id, delta)
    if updates:
        updates.apply(connection, object_session(comment))


def comment_inserted(mapper: Mapper, connection: Connection, comment: Comment) -> None:
    _write(connection, comment, None, new_row(comment))


def comment_updated(mapper: Mapper, connection: Connection, comment: Comment) -> None:
    old = old_row(comment)
    if old is not None:  # None: neither its thread nor its message changed
        _write(connection, comment, old, new_row(comment, unloaded_words=old.words))


def comment_deleted(mapper: Mapper, connection: Connection, comment: Comment) -> None:
    _write(connection, comment, old_row(comment), None)


def new_parent_starts_at_zero(mapper: Mapper, connection: Connection, target: object) -> None:
    """A new thread's or board's counters belong to the strategy, not to its constructor:
    its comments and threads add themselves as their rows are inserted."""
    start_at_zero(target)


def thread_inserted(mapper: Mapper, connection: Connection, thread: Thread) -> None:
    updates = ParentUpdates()
    updates.add_to_board(thread.board_id, BoardDelta(threads=1, comments=thread.comment_count))
    updates.apply(connection, object_session(thread))


def thread_moving(mapper: Mapper, connection: Connection, thread: Thread) -> None:
    # Before the UPDATE: the thread leaves the board its locked row names (the
    # UPDATE then checks "WHERE board_id = <loaded>", the thread's version).
    if not changed(thread, "board_id"):
        return
    updates = ParentUpdates()
    updates.thread_leaves_board(thread.id)
    updates.thread_joins_board(thread.id, thread.board_id)
    updates.apply(connection, object_session(thread))


def thread_deleting(mapper: Mapper, connection: Connection, thread: Thread) -> None:
    # Before the DELETE: the row (its board, and the comment count it holds now)
    # still exists, and is read under a lock.
    updates = ParentUpdates()
    updates.thread_leaves_board(thread.id)
    # The comments the ORM deleted or moved are written (and counted) already.
    updates.thread_deleted(thread.id)
    updates.apply(connection, object_session(thread))


STRATEGY = CounterStrategy(
    name="after_insert",
    listeners=(
        *GUARDS,
        Listener(Comment, "before_update", keep_old_row_before_update),
        Listener(Comment, "before_delete", keep_old_row_before_delete),
        Listener(Comment, "after_insert", comment_inserted),
        Listener(Comment, "after_update", comment_updated),
        Listener(Comment, "after_delete", comment_deleted),
        Listener(Thread, "before_insert", new_parent_starts_at_zero),
        Listener(Board, "before_insert", new_parent_starts_at_zero),
        Listener(User, "before_insert", new_parent_starts_at_zero),
        Listener(Thread, "after_insert", thread_inserted),
        Listener(Thread, "before_update", thread_moving),
        Listener(Thread, "before_delete", thread_deleting),
        Listener(Session, "after_flush_postexec", forget),
        Listener(Session, "after_soft_rollback", forget),
        *OWNED_COUNTERS,
        *BOOKKEEPING,
    ),
)
