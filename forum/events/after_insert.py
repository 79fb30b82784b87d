"""Strategy ``after_insert``: a Core UPDATE from the mapper's flush events.

As each comment row is inserted, updated or deleted, the mapper's
``after_insert`` / ``after_update`` / ``after_delete`` listener issues
``UPDATE threads SET word_count = word_count + :delta ...`` (and the board's)
on the flush's own connection, so the counter changes in the same transaction
as the row. Threads do the same for their boards (``after_insert``, and
``before_update`` when moved or ``before_delete``, while the row still names
its board).

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
from sqlalchemy.orm import Mapper, object_session

from ..models import Comment, Thread
from .bulk_guard import REFUSE_BULK_WRITES
from .copies import BOOKKEEPING
from .deltas import BoardDelta, ThreadDelta, contribution
from .history import changed, committed_value
from .ownership import OWNED_COUNTERS
from .parent_updates import ParentUpdates
from .strategy import CounterStrategy, Listener


def _old_values(comment: Comment) -> tuple[object, ThreadDelta]:
    """The thread and contribution the row had before this flush wrote it."""
    return committed_value(comment, "thread_id"), contribution(committed_value(comment, "message"))


def comment_inserted(mapper: Mapper, connection: Connection, comment: Comment) -> None:
    updates = ParentUpdates()
    updates.add_to_thread(comment.thread_id, contribution(comment.message))
    updates.apply(connection, object_session(comment))


def comment_updated(mapper: Mapper, connection: Connection, comment: Comment) -> None:
    old_thread, old = _old_values(comment)
    new = contribution(comment.message)
    updates = ParentUpdates()
    if comment.thread_id == old_thread:
        updates.add_to_thread(old_thread, ThreadDelta(words=new.words - old.words))
    else:
        updates.add_to_thread(old_thread, -old)
        updates.add_to_thread(comment.thread_id, new)
    updates.apply(connection, object_session(comment))


def comment_deleted(mapper: Mapper, connection: Connection, comment: Comment) -> None:
    old_thread, old = _old_values(comment)
    updates = ParentUpdates()
    updates.add_to_thread(old_thread, -old)
    updates.apply(connection, object_session(comment))


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
    updates.apply(connection, object_session(thread))


STRATEGY = CounterStrategy(
    name="after_insert",
    listeners=(
        Listener(Comment, "after_insert", comment_inserted),
        Listener(Comment, "after_update", comment_updated),
        Listener(Comment, "after_delete", comment_deleted),
        Listener(Thread, "after_insert", thread_inserted),
        Listener(Thread, "before_update", thread_moving),
        Listener(Thread, "before_delete", thread_deleting),
        REFUSE_BULK_WRITES,
        *OWNED_COUNTERS,
        *BOOKKEEPING,
    ),
)
