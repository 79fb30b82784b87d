"""Compare every counter with the truth, and repair drift without losing racing writes.

The truth is recomputed from the comments themselves: word counts in Python
with the one ``word_count`` function, streamed batch by batch so a million
comments never sit in memory at once. With ``fix``, each batch's parent rows
are locked (``FOR UPDATE``, in id order, the order every writer uses) before
their truth is read: a writer that changes one of them meanwhile waits, and its
``x = x + delta`` lands on the repaired value instead of being overwritten.
A parent with no children is counted as 0.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, func, select, update

from .models import Board, Comment, Thread
from .words import word_count

threads = Thread.__table__
boards = Board.__table__
comments = Comment.__table__


@dataclass(frozen=True)
class Drift:
    """One counter whose stored value differs from the truth."""

    kind: str  # "thread" or "board"
    id: str
    column: str
    stored: int
    true: int

    def __str__(self) -> str:
        return f"{self.kind} {self.id} {self.column}: stored {self.stored}, true {self.true}"


@dataclass
class Report:
    threads_checked: int = 0
    boards_checked: int = 0
    drift: list[Drift] | None = None
    fixed: bool = False

    def __post_init__(self) -> None:
        self.drift = [] if self.drift is None else self.drift

    @property
    def drifted_rows(self) -> int:
        return len({(d.kind, d.id) for d in self.drift})

    def summary(self) -> str:
        checked = f"checked {self.threads_checked} threads and {self.boards_checked} boards"
        if not self.drift:
            return f"{checked}: no drift"
        outcome = "fixed" if self.fixed else "not fixed (run with --fix)"
        return (
            f"{checked}: {len(self.drift)} counters drifted in {self.drifted_rows} rows, {outcome}"
        )


def _thread_truth(connection: Connection, first: uuid.UUID, last: uuid.UUID) -> dict:
    """word and comment totals for threads with ids in [first, last], streamed."""
    truth: dict[uuid.UUID, list[int]] = defaultdict(lambda: [0, 0])
    rows = connection.execute(
        select(comments.c.thread_id, comments.c.message)
        .where(comments.c.thread_id.between(first, last))
        .execution_options(yield_per=5000)  # a server-side cursor: stream, never hold all
    )
    for thread_id, message in rows:
        total = truth[thread_id]
        total[0] += word_count(message)
        total[1] += 1
    return truth


def _board_truth(connection: Connection, ids: list[int]) -> dict[int, tuple[int, int]]:
    thread_counts = dict(
        connection.execute(
            select(threads.c.board_id, func.count())
            .where(threads.c.board_id.in_(ids))
            .group_by(threads.c.board_id)
        ).all()
    )
    comment_counts = dict(
        connection.execute(
            select(threads.c.board_id, func.count())
            .select_from(comments.join(threads, comments.c.thread_id == threads.c.id))
            .where(threads.c.board_id.in_(ids))
            .group_by(threads.c.board_id)
        ).all()
    )
    return {i: (thread_counts.get(i, 0), comment_counts.get(i, 0)) for i in ids}


def _batches(
    connection: Connection, table, columns: list, batch: int, lock: bool
) -> Iterator[list]:
    """Rows of ``table`` in id order, one transaction per batch, locked when repairing.

    Inside a caller's transaction (the test suite), each batch is a savepoint instead.
    """
    last = None
    while True:
        begin = connection.begin_nested if connection.in_transaction() else connection.begin
        with begin():
            query = select(table.c.id, *columns).order_by(table.c.id).limit(batch)
            if last is not None:
                query = query.where(table.c.id > last)
            if lock:
                query = query.with_for_update()
            rows = connection.execute(query).all()
            if not rows:
                return
            yield rows
        last = rows[-1].id


def reconcile(
    connection: Connection,
    *,
    fix: bool = False,
    batch: int = 1000,
    on_drift: Callable[[Drift], None] | None = None,
) -> Report:
    """Check (and with ``fix`` repair) every thread and board counter.

    Each batch commits on its own, so locks are held for one batch at a time.
    """
    report = Report(fixed=fix)

    def found(drift: Drift) -> None:
        report.drift.append(drift)
        if on_drift is not None:
            on_drift(drift)

    thread_columns = [threads.c.word_count, threads.c.comment_count]
    for rows in _batches(connection, threads, thread_columns, batch, lock=fix):
        report.threads_checked += len(rows)
        truth = _thread_truth(connection, rows[0].id, rows[-1].id)
        repairs = []
        for row in rows:
            words, count = truth.get(row.id, (0, 0))
            if (row.word_count, row.comment_count) == (words, count):
                continue
            for column, stored, true in (
                ("word_count", row.word_count, words),
                ("comment_count", row.comment_count, count),
            ):
                if stored != true:
                    found(Drift("thread", str(row.id), column, stored, true))
            repairs.append({"key": row.id, "words": words, "count": count})
        if fix and repairs:
            connection.execute(
                update(threads)
                .where(threads.c.id == bindparam("key"))
                .values(word_count=bindparam("words"), comment_count=bindparam("count")),
                repairs,
            )

    board_columns = [boards.c.thread_count, boards.c.comment_count]
    for rows in _batches(connection, boards, board_columns, batch, lock=fix):
        report.boards_checked += len(rows)
        truth = _board_truth(connection, [row.id for row in rows])
        repairs = []
        for row in rows:
            thread_total, comment_total = truth[row.id]
            if (row.thread_count, row.comment_count) == (thread_total, comment_total):
                continue
            for column, stored, true in (
                ("thread_count", row.thread_count, thread_total),
                ("comment_count", row.comment_count, comment_total),
            ):
                if stored != true:
                    found(Drift("board", str(row.id), column, stored, true))
            repairs.append({"key": row.id, "threads": thread_total, "comments": comment_total})
        if fix and repairs:
            connection.execute(
                update(boards)
                .where(boards.c.id == bindparam("key"))
                .values(thread_count=bindparam("threads"), comment_count=bindparam("comments")),
                repairs,
            )
    return report
