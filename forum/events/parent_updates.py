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

from sqlalchemy import Connection, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from ..models import Board, Comment, Thread, User
from .copies import is_new, refresh_copy
from .deltas import BoardDelta, ThreadDelta, thread_membership

threads = Thread.__table__
boards = Board.__table__
users = User.__table__
comments = Comment.__table__


class ParentUpdates:
    """Net counter changes for thread and board rows, applied in lock order."""

    def __init__(self) -> None:
        self.threads: dict[uuid.UUID, ThreadDelta] = defaultdict(ThreadDelta)
        self.boards: dict[int, BoardDelta] = defaultdict(BoardDelta)
        #: thread id -> the board it leaves: None for "the one its row names now".
        self.leaving: dict[uuid.UUID, int | None] = {}
        #: thread id -> the board it joins (a new Board object is changed in memory).
        self.joining: dict[uuid.UUID, int | Board] = {}
        #: user id -> the change to the comments they wrote
        self.users: dict[int, int] = defaultdict(int)
        #: thread id -> comments to leave out: a deleted thread's other comments go with it
        #: (ON DELETE CASCADE), and their authors lose them
        self.deleted_threads: dict[uuid.UUID, frozenset[uuid.UUID]] = {}

    def __bool__(self) -> bool:
        return bool(
            self.threads
            or self.boards
            or self.leaving
            or self.joining
            or self.deleted_threads
            or any(self.users.values())
        )

    def add_to_user(self, user_id: int, comments: int) -> None:
        self.users[user_id] += comments

    def thread_deleted(
        self, thread_id: uuid.UUID, counted: frozenset[uuid.UUID] = frozenset()
    ) -> None:
        """The thread is deleted with its comments; ``counted``: comments this flush counts
        one by one (deleted or moved by the ORM), left out of the cascade's count."""
        self.deleted_threads[thread_id] = counted

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
            change = self.boards[board_id]
            if not change:
                continue
            row = _increment(
                connection,
                boards,
                board_id,
                thread_count=change.threads,
                comment_count=change.comments,
            )
            if row is not None:
                refresh_copy(session, Board, board_id, row._mapping)

        self._apply_users(connection, session)
        self.threads.clear()
        self.boards.clear()
        self.leaving.clear()
        self.joining.clear()

    def _apply_users(self, connection: Connection, session: Session | None) -> None:
        """Users last, by id: the lock order is threads, boards, users."""
        for thread_id, counted in self.deleted_threads.items():
            self._cascade_authors(connection, thread_id, counted)
        self.deleted_threads.clear()
        for user_id in sorted(self.users):
            if self.users[user_id]:
                row = _increment(connection, users, user_id, comment_count=self.users[user_id])
                if row is not None:
                    refresh_copy(session, User, user_id, row._mapping)
        self.users.clear()

    def _cascade_authors(
        self, connection: Connection, thread_id: uuid.UUID, counted: frozenset[uuid.UUID]
    ) -> None:
        """The authors of the comments a thread's DELETE cascades to lose them.

        The one place where work grows with a thread: deleting a thread deletes its
        comments, so the database does that much work anyway, and this is one
        aggregate over the rows it is about to delete."""
        query = (
            select(comments.c.author_id, func.count())
            .where(comments.c.thread_id == thread_id)
            .group_by(comments.c.author_id)
        )
        if counted:
            query = query.where(comments.c.id.not_in(sorted(counted)))
        for author_id, n in connection.execute(query):
            self.users[author_id] -= n

    def _apply_one_thread(self, connection: Connection, session: Session | None) -> bool:
        """The usual write (one comment created or deleted): the thread's counters and its
        board's in one statement, the thread's row locked first as always. Only when this
        is the whole change: with several threads, the boards must wait for every thread."""
        authors = [(user_id, n) for user_id, n in self.users.items() if n]
        if len(self.threads) != 1 or self.boards or self.leaving or self.joining:
            return False
        if self.deleted_threads:
            return False
        if len(authors) > 1:
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
        returning = [
            boards.c.id,
            boards.c.thread_count,
            boards.c.comment_count.label("board_comment_count"),
            thread.c.word_count,
            thread.c.comment_count,
        ]
        if authors:
            # Read only by the RETURNING list, which PostgreSQL computes after the board's
            # row is updated: the author's row is locked last, as in the general order.
            ((user_id, n),) = authors
            author = (
                update(users)
                .where(users.c.id == user_id)
                .values(comment_count=users.c.comment_count + n)
                .returning(users.c.comment_count)
                .cte("author")
            )
            returning.append(
                select(author.c.comment_count).scalar_subquery().label("user_comment_count")
            )
        row = connection.execute(
            update(boards)
            .where(boards.c.id == thread.c.board_id)
            .values(comment_count=boards.c.comment_count + delta.comments)
            .returning(*returning)
        ).one_or_none()
        self.threads.clear()
        self.users.clear()
        if row is not None:  # None: the thread is gone, and the comment's own write fails
            refresh_copy(session, Thread, thread_id, dict(row._mapping))
            refresh_copy(
                session,
                Board,
                row.id,
                {"thread_count": row.thread_count, "comment_count": row.board_comment_count},
            )
            if authors and row.user_comment_count is not None:
                refresh_copy(session, User, user_id, {"comment_count": row.user_comment_count})
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
