"""Writing counter changes to parent rows: atomic, ordered, and reflected in memory.

Used by the ``before_flush`` strategy (once per flush) and the ``after_insert``
strategy (once per changed row). Three rules make it safe with many writers:

* The database does the arithmetic: ``SET word_count = word_count + :delta``.
  A concurrent writer's change is never overwritten by a stale copy.
* Rows are locked in one order: threads by id, then boards by id. Two
  transactions touching the same rows queue instead of deadlocking.
* A thread's change reaches the board the thread is on *when the UPDATE runs*
  (``RETURNING board_id``), and a thread leaving a board takes the comment
  count it has then, read under a row lock: never a copy from earlier.

The values the UPDATEs return are written into the session's copies of the
rows (``set_committed_value``), so the request that made the change sees the
fresh counters without another SELECT.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, inspect, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from ..models import Board, Thread
from .deltas import BoardDelta, ThreadDelta, thread_membership

threads = Thread.__table__
boards = Board.__table__
COUNTERS = ("word_count", "comment_count", "thread_count")


class ParentUpdates:
    """Net counter changes for thread and board rows, applied in lock order."""

    def __init__(self) -> None:
        self.threads: dict[uuid.UUID, ThreadDelta] = defaultdict(ThreadDelta)
        self.boards: dict[int, BoardDelta] = defaultdict(BoardDelta)
        #: thread id -> boards it leaves (-1) or joins (+1), settled with its locked count.
        #: A board may be a new Board object (no row yet): it is then changed in memory.
        self.memberships: dict[uuid.UUID, list[tuple[int | Board, int]]] = defaultdict(list)

        #: In-memory copies to refresh that the identity map does not hold yet
        #: (a thread inserted earlier in the same flush).
        self.copies: dict[tuple[type, object], object] = {}

    def add_to_thread(
        self, thread_id: uuid.UUID, delta: ThreadDelta, copy: Thread | None = None
    ) -> None:
        self.threads[thread_id] += delta
        if copy is not None:
            self.copies[(Thread, thread_id)] = copy

    def add_to_board(self, board_id: int, delta: BoardDelta, copy: Board | None = None) -> None:
        self.boards[board_id] += delta
        if copy is not None:
            self.copies[(Board, board_id)] = copy

    def thread_leaves_board(self, thread_id: uuid.UUID, board: int | Board) -> None:
        """The (existing) thread is deleted from, or moved off, ``board``."""
        self.memberships[thread_id].append((board, -1))

    def thread_joins_board(self, thread_id: uuid.UUID, board: int | Board) -> None:
        """The (existing) thread is moved onto ``board``."""
        self.memberships[thread_id].append((board, 1))

    def apply(self, connection: Connection, session: Session | None) -> None:
        """Issue the UPDATEs (none for a zero change) and refresh the session's copies."""
        for thread_id in sorted(self.threads):
            delta = self.threads[thread_id]
            if not delta:
                continue
            row = _increment(
                connection, threads, thread_id, word_count=delta.words, comment_count=delta.comments
            )
            if row is None:  # deleted meanwhile: the comment's own write will fail its FK
                continue
            if delta.comments:
                self.boards[row.board_id] += BoardDelta(comments=delta.comments)
            self._refresh(session, Thread, thread_id, row._mapping)

        for thread_id in sorted(self.memberships):
            count = locked_comment_count(connection, thread_id)
            for board, sign in self.memberships[thread_id]:
                change = thread_membership(count, sign)
                if isinstance(board, Board) and inspect(board).key is None:
                    board.thread_count += change.threads
                    board.comment_count += change.comments
                else:
                    self.boards[board.id if isinstance(board, Board) else board] += change

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
                self._refresh(session, Board, board_id, row._mapping)

        self.threads.clear()
        self.boards.clear()
        self.memberships.clear()
        self.copies.clear()

    def _refresh(self, session: Session | None, cls: type, pk: Any, values: Mapping) -> None:
        """Give the session's copy of the row (if any) the counter values just written."""
        copy = self.copies.get((cls, pk))
        if copy is None and session is not None:
            copy = session.identity_map.get(identity_key(cls, pk))
        if copy is None:
            return
        for name, value in values.items():
            if name in COUNTERS:
                set_committed_value(copy, name, value)


def _increment(connection: Connection, table, key: Any, **deltas: int):
    """``UPDATE table SET x = x + :dx ... WHERE id = :key RETURNING ...``; None if no such row.

    Only the columns that change are set, so the SQL says exactly what moved.
    """
    values = {name: table.c[name] + delta for name, delta in deltas.items() if delta}
    returning = [table.c[name] for name in (*deltas, "board_id") if name in table.c]
    return connection.execute(
        update(table).where(table.c.id == key).values(values).returning(*returning)
    ).one_or_none()


def locked_comment_count(connection: Connection, thread_id: uuid.UUID) -> int:
    """The thread's comment count as it is now, locked until the transaction ends.

    ``FOR UPDATE`` waits for any writer holding the row and then reads its
    committed value, and keeps new comments out (their foreign-key check waits).
    """
    count = connection.execute(
        select(threads.c.comment_count).where(threads.c.id == thread_id).with_for_update()
    ).scalar_one_or_none()
    return count or 0
