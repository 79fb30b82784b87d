"""Strategy ``before_flush``: one reconciler per flush, reading the session's changes.

Before each flush, a ``Session`` ``before_flush`` listener walks ``session.new``,
``session.dirty`` (comparing each changed attribute with its committed value)
and ``session.deleted``, nets the changes per parent row, and writes them as
one ``UPDATE ... SET x = x + :delta`` per thread and per board, in id order
(see ``parent_updates``). A hundred comments to one thread in one transaction
cost one thread UPDATE and one board UPDATE.

The comments being edited, moved or deleted are locked first and checked
against the versions this session loaded (``comment_locks``), so no delta is
computed from a stale copy. Parents that are new in this flush (a thread
created with its opening post) have no row to update yet: their counters are
set on the object and go into its INSERT. Nothing loads a thread's comments or
counts them in SQL.

Cannot see: changes that do not pass through the session (Core or raw SQL);
ORM bulk statements are refused (``bulk_guard``).
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session, UOWTransaction

from ..models import Board, Comment, Thread
from .bulk_guard import REFUSE_BULK_WRITES
from .comment_locks import comments_changing_counters, lock_current
from .copies import BOOKKEEPING, is_new
from .deltas import BoardDelta, ThreadDelta, contribution, thread_membership
from .history import changed, committed_value
from .ownership import OWNED_COUNTERS
from .parent_updates import ParentUpdates
from .strategy import CounterStrategy, Listener


def _current_thread(comment: Comment) -> Thread | uuid.UUID | None:
    """The comment's thread now: the related object if one was set, else the key."""
    if changed(comment, "thread"):
        return comment.__dict__.get("thread")
    if changed(comment, "thread_id"):
        return comment.thread_id
    return comment.__dict__.get("thread") or comment.thread_id


def _current_board(thread: Thread) -> Board | int | None:
    if changed(thread, "board"):
        return thread.__dict__.get("board")
    if changed(thread, "board_id"):
        return thread.board_id
    return thread.__dict__.get("board") or thread.board_id


class _FlushPlan:
    """Routes each change either into a new object's INSERT or into a row UPDATE."""

    def __init__(self, session: Session) -> None:
        self.rows = ParentUpdates()
        # Threads created in this transaction, for comments that name theirs by key.
        self.new_threads = {t.id: t for t in session.new if isinstance(t, Thread)}

    def add_to_thread(self, thread: Thread | uuid.UUID | None, delta: ThreadDelta) -> None:
        if thread is None or not delta:
            return
        if not isinstance(thread, Thread):
            thread = self.new_threads.get(thread, thread)
        if isinstance(thread, Thread) and is_new(thread):
            thread.word_count += delta.words
            thread.comment_count += delta.comments
            self.add_to_board(_current_board(thread), BoardDelta(comments=delta.comments))
        else:
            thread_id = thread.id if isinstance(thread, Thread) else thread
            self.rows.add_to_thread(thread_id, delta)

    def add_to_board(self, board: Board | int | None, delta: BoardDelta) -> None:
        if board is None or not delta:
            return
        if isinstance(board, Board) and is_new(board):
            board.thread_count += delta.threads
            board.comment_count += delta.comments
        else:
            self.rows.add_to_board(board.id if isinstance(board, Board) else board, delta)


def reconcile_counters(session: Session, flush_context: UOWTransaction, instances: object) -> None:
    """Net every counter change waiting in ``session`` and write it before the flush."""
    lock_current(session, comments_changing_counters(session))
    plan = _FlushPlan(session)

    for obj in session.new:
        if isinstance(obj, Comment):
            plan.add_to_thread(_current_thread(obj), contribution(obj.message))
        elif isinstance(obj, Thread):
            # Its comments (also new) reach the board through add_to_thread.
            plan.add_to_board(_current_board(obj), thread_membership(0))

    for obj in session.dirty:
        if isinstance(obj, Comment) and (
            changed(obj, "message") or changed(obj, "thread") or changed(obj, "thread_id")
        ):
            old_thread = committed_value(obj, "thread_id")
            new_thread = _current_thread(obj)
            old = contribution(committed_value(obj, "message"))
            new = contribution(obj.message)
            new_id = new_thread.id if isinstance(new_thread, Thread) else new_thread
            if new_id == old_thread:
                plan.add_to_thread(old_thread, ThreadDelta(words=new.words - old.words))
            else:
                plan.add_to_thread(old_thread, -old)
                plan.add_to_thread(new_thread, new)
        elif isinstance(obj, Thread) and (changed(obj, "board") or changed(obj, "board_id")):
            new_board = _current_board(obj)
            new_id = new_board.id if isinstance(new_board, Board) else new_board
            if new_id != committed_value(obj, "board_id"):
                plan.rows.thread_leaves_board(obj.id)  # the board its locked row names
                if new_board is not None:
                    plan.rows.thread_joins_board(obj.id, new_board)

    for obj in session.deleted:
        if isinstance(obj, Comment):
            plan.add_to_thread(
                committed_value(obj, "thread_id"), -contribution(committed_value(obj, "message"))
            )
        elif isinstance(obj, Thread):
            plan.rows.thread_leaves_board(obj.id)

    plan.rows.apply(session.connection(), session)


STRATEGY = CounterStrategy(
    name="before_flush",
    listeners=(
        Listener(Session, "before_flush", reconcile_counters),
        REFUSE_BULK_WRITES,
        *OWNED_COUNTERS,
        *BOOKKEEPING,
    ),
)
