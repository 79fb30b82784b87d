"""Writing counter changes to parent rows: atomic, ordered, and reflected in memory.

Every strategy ends here (``attribute`` and ``before_flush`` once per flush,
``after_insert`` once per changed row). Three rules make it safe with many
writers:

* The database does the arithmetic: ``SET word_count = word_count + :delta``.
  A concurrent writer's change is never overwritten by a stale copy.
* Rows are locked in one order, in one pass: every thread involved by id,
  then every board by id. Two transactions touching the same rows queue
  instead of deadlocking.
* Whatever a board gains or loses is read from the thread's row as it is when
  it is locked: a comment's share goes to the board the thread is on now
  (``RETURNING board_id``), and a thread leaving its board takes the comment
  count it has now. A thread that is gone raises StaleDataError (the request
  is retried) instead of being taken off its board twice.

The values the UPDATEs return are written into the session's copies of the
rows (``copies.refresh_copy``), so the request sees fresh counters.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from ..models import Board, Thread
from .copies import is_new, refresh_copy
from .deltas import BoardDelta, ThreadDelta, thread_membership

threads = Thread.__table__
boards = Board.__table__


class ParentUpdates:
    """Net counter changes for thread and board rows, applied in lock order."""

    def __init__(self) -> None:
        self.threads: dict[uuid.UUID, ThreadDelta] = defaultdict(ThreadDelta)
        self.boards: dict[int, BoardDelta] = defaultdict(BoardDelta)
        #: thread id -> the board it leaves: None for "the one its row names now".
        self.leaving: dict[uuid.UUID, int | None] = {}
        #: thread id -> the board it joins (a new Board object is changed in memory).
        self.joining: dict[uuid.UUID, int | Board] = {}

    def __bool__(self) -> bool:
        return bool(self.threads or self.boards or self.leaving or self.joining)

    def add_to_thread(self, thread_id: uuid.UUID, delta: ThreadDelta) -> None:
        self.threads[thread_id] += delta

    def add_to_board(self, board_id: int, delta: BoardDelta) -> None:
        self.boards[board_id] += delta

    def thread_leaves_board(self, thread_id: uuid.UUID, board_id: int | None = None) -> None:
        """The thread is deleted, or moved off its board (``board_id``: already moved, the
        old board as this flush's version check proved it)."""
        self.leaving[thread_id] = board_id

    def thread_joins_board(self, thread_id: uuid.UUID, board: int | Board) -> None:
        self.joining[thread_id] = board

    def apply(self, connection: Connection, session: Session | None) -> None:
        """Issue the UPDATEs (none for a zero change) and refresh the session's copies."""
        if self._apply_one_thread(connection, session):
            return
        for thread_id in sorted({*self.threads, *self.leaving, *self.joining}):
            delta = self.threads.get(thread_id)
            if delta:
                row = _increment(
                    connection,
                    threads,
                    thread_id,
                    word_count=delta.words,
                    comment_count=delta.comments,
                )
            elif thread_id in self.leaving or thread_id in self.joining:
                row = _lock_thread(connection, thread_id)
            else:
                continue
            if row is None:
                if thread_id in self.leaving or thread_id in self.joining:
                    raise StaleDataError(f"thread {thread_id} was deleted by another transaction")
                continue  # a comment for a deleted thread: its own write fails its FK
            if delta:
                if delta.comments:
                    self.boards[row.board_id] += BoardDelta(comments=delta.comments)
                refresh_copy(session, Thread, thread_id, row._mapping)
            if thread_id in self.leaving:
                left = self.leaving[thread_id]
                self.boards[row.board_id if left is None else left] += thread_membership(
                    row.comment_count, -1
                )
            if thread_id in self.joining:
                self._join(self.joining[thread_id], thread_membership(row.comment_count, 1))

        for board_id in sorted(self.boards):
            delta = self.boards[board_id]
            if not delta:
                continue
            row = _increment(
                connection,
                boards,
                board_id,
                thread_count=delta.threads,
                comment_count=delta.comments,
            )
            if row is not None:
                refresh_copy(session, Board, board_id, row._mapping)

        self.threads.clear()
        self.boards.clear()
        self.leaving.clear()
        self.joining.clear()

    def _apply_one_thread(self, connection: Connection, session: Session | None) -> bool:
        """The usual write (one comment created or deleted): the thread's counters and its
        board's in one statement, the thread's row locked first as always. Only when this
        is the whole change: with several threads, the boards must wait for every thread."""
        if len(self.threads) != 1 or self.boards or self.leaving or self.joining:
            return False
        ((thread_id, delta),) = self.threads.items()
        if not delta.comments:
            return False  # words only: the thread's UPDATE alone
        thread = (
            update(threads)
            .where(threads.c.id == thread_id)
            .values(
                word_count=threads.c.word_count + delta.words,
                comment_count=threads.c.comment_count + delta.comments,
            )
            .returning(threads.c.board_id, threads.c.word_count, threads.c.comment_count)
            .cte("thread")
        )
        row = connection.execute(
            update(boards)
            .where(boards.c.id == thread.c.board_id)
            .values(comment_count=boards.c.comment_count + delta.comments)
            .returning(
                boards.c.id,
                boards.c.thread_count,
                boards.c.comment_count.label("board_comment_count"),
                thread.c.word_count,
                thread.c.comment_count,
            )
        ).one_or_none()
        self.threads.clear()
        if row is not None:  # None: the thread is gone, and the comment's own write fails
            refresh_copy(session, Thread, thread_id, row._mapping)
            refresh_copy(
                session,
                Board,
                row.id,
                {"thread_count": row.thread_count, "comment_count": row.board_comment_count},
            )
        return True

    def _join(self, board: int | Board, change: BoardDelta) -> None:
        if isinstance(board, Board) and is_new(board):
            board.thread_count += change.threads
            board.comment_count += change.comments
        else:
            self.boards[board.id if isinstance(board, Board) else board] += change


def _increment(connection: Connection, table, key: Any, **deltas: int):
    """``UPDATE table SET x = x + :dx ... WHERE id = :key RETURNING ...``; None if no such row.

    Only the columns that change are set, so the SQL says exactly what moved.
    """
    values = {name: table.c[name] + delta for name, delta in deltas.items() if delta}
    returning = [table.c[name] for name in (*deltas, "board_id") if name in table.c]
    return connection.execute(
        update(table).where(table.c.id == key).values(values).returning(*returning)
    ).one_or_none()


def _lock_thread(connection: Connection, thread_id: uuid.UUID):
    """The thread's board and comment count as they are now, locked until the transaction
    ends: ``FOR UPDATE`` waits for any writer holding the row and then reads its latest
    committed version, and keeps new comments out (their foreign-key check waits)."""
    return connection.execute(
        select(threads.c.board_id, threads.c.comment_count)
        .where(threads.c.id == thread_id)
        .with_for_update()
    ).one_or_none()
