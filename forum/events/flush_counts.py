"""Turn a flush plan into counter changes and write them, before the flush runs.

Shared by ``before_flush`` and ``attribute``: whatever the session did before
(set, expire, refresh, expunge, re-add, merge, savepoints), the database is
changed by one rule only: for each row the flush will write, the share the
row holds now (read under lock) against the share being written. In-memory
bookkeeping, where a strategy keeps any, never reaches the database.

A parent created in this flush has no row yet: its counters are computed from
zero here and go into its INSERT, whatever its constructor was given.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from ..models import Board, Thread, User
from .comment_locks import lock_and_read
from .copies import is_new, row_id, start_at_zero
from .deltas import BoardDelta, ThreadDelta, share_change, thread_membership
from .flush_check import remember_plan
from .flush_plan import FlushPlan, Share, plan_flush, thread_key, written_board
from .parent_updates import ParentUpdates


class CounterChanges:
    """Routes each change into a new parent's INSERT or into a row UPDATE."""

    def __init__(self, session: Session, *, rows_only: bool = False) -> None:
        """``rows_only``: after the flush, when every parent has a row to update."""
        self.rows = ParentUpdates()
        self.rows_only = rows_only
        self.new_threads = (
            {} if rows_only else {t.id: t for t in session.new if isinstance(t, Thread)}
        )

    def add_to_thread(self, thread_id: uuid.UUID | None, delta: ThreadDelta) -> None:
        if thread_id is None or not delta:
            return
        thread = self.new_threads.get(thread_id)
        if thread is not None:
            thread.word_count += delta.words
            thread.comment_count += delta.comments
            self.add_to_board(written_board(thread), BoardDelta(comments=delta.comments))
        else:
            self.rows.add_to_thread(thread_id, delta)

    def add_to_board(self, board: Board | int | None, delta: BoardDelta) -> None:
        if board is None or not delta:
            return
        if isinstance(board, Board) and is_new(board) and not self.rows_only:
            board.thread_count += delta.threads
            board.comment_count += delta.comments
        else:
            self.rows.add_to_board(board.id if isinstance(board, Board) else board, delta)

    def add_to_user(self, author: User | int | None, comments: int) -> None:
        if author is None or not comments:
            return
        if isinstance(author, User) and (is_new(author) and not self.rows_only):
            author.comment_count += comments
        else:
            self.rows.add_to_user(author.id if isinstance(author, User) else author, comments)

    def count_comment(self, old: Share | None, new: Share | None) -> None:
        threads, authors = share_change(old, new)
        for author, comments in authors:
            self.add_to_user(author, comments)
        for thread_id, delta in threads:
            self.add_to_thread(thread_id, delta)


def zero_new_parents(session: Session) -> None:
    """A new thread's or board's counters belong to the strategy, not to its constructor."""
    for obj in session.new:
        if isinstance(obj, Thread | Board | User):
            start_at_zero(obj)


def _cascade(changes: CounterChanges, plan: FlushPlan, thread_id: uuid.UUID) -> None:
    """A deleted thread takes its comments with it (ON DELETE CASCADE): their authors lose
    them. The rows the plan writes are counted here, the others by one aggregate."""
    planned = frozenset(
        row_id(w.comment)
        for w in plan.comments.values()
        if w.old is not None and w.old.thread_id == thread_id
    )
    changes.rows.thread_deleted(thread_id, planned)
    for write in plan.comments.values():
        new = write.new()
        if new is not None and new.thread_id == thread_id:  # written there, then cascaded
            changes.add_to_user(new.author, -1)


def count_flush(session: Session) -> FlushPlan:
    """Plan the flush, lock and read the rows it changes, and write every counter change."""
    plan = plan_flush(session)
    lock_and_read(session, plan.comments.values())
    zero_new_parents(session)
    changes = CounterChanges(session)
    for comment_write in plan.comments.values():
        changes.count_comment(comment_write.old, comment_write.new())
    for write in plan.threads:
        thread_id = row_id(write.thread)  # without loading: the copy may be expired
        if write.inserted:
            # Its comments (all new too) reach the board through add_to_thread.
            changes.add_to_board(write.new_board, thread_membership(0))
        elif write.deleted:
            changes.rows.thread_leaves_board(thread_id)  # the board its locked row names
            _cascade(changes, plan, thread_id)
        else:
            changes.rows.thread_leaves_board(thread_id)
            if write.new_board is not None:
                changes.rows.thread_joins_board(thread_id, write.new_board)
    changes.rows.apply(session.connection(), session)
    remember_plan(session, plan)
    return plan


__all__ = ["CounterChanges", "count_flush", "thread_key", "zero_new_parents"]
