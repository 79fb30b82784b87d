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
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Connection, bindparam, func, select, update

from .models import Board, Comment, Thread, User
from .models.board import BOARD_COUNTERS
from .models.thread import THREAD_COUNTERS
from .models.user import USER_COUNTERS
from .words import word_count

threads = Thread.__table__
boards = Board.__table__
users = User.__table__
comments = Comment.__table__


@dataclass(frozen=True)
class Drift:
    """One counter whose stored value differs from the truth."""

    kind: str  # "thread", "board" or "user"
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
    users_checked: int = 0
    drift: list[Drift] = field(default_factory=list)
    fixed: bool = False

    @property
    def drifted_rows(self) -> int:
        return len({(d.kind, d.id) for d in self.drift})

    def summary(self) -> str:
        checked = (
            f"checked {self.threads_checked} threads, {self.boards_checked} boards "
            f"and {self.users_checked} users"
        )
        if not self.drift:
            return f"{checked}: no drift"
        outcome = "fixed" if self.fixed else "not fixed (run with --fix)"
        return (
            f"{checked}: {len(self.drift)} counters drifted in {self.drifted_rows} rows, {outcome}"
        )


def _thread_truth(connection: Connection, rows: list) -> dict[uuid.UUID, tuple[int, int]]:
    """(words, comments) for the batch's threads, streamed from their comments."""
    truth: dict[uuid.UUID, list[int]] = defaultdict(lambda: [0, 0])
    result = connection.execute(
        select(comments.c.thread_id, comments.c.message)
        .where(comments.c.thread_id.between(rows[0].id, rows[-1].id))
        .execution_options(yield_per=5000)  # a server-side cursor: stream, never hold all
    )
    for thread_id, message in result:
        total = truth[thread_id]
        total[0] += word_count(message)
        total[1] += 1
    return {thread_id: (words, count) for thread_id, (words, count) in truth.items()}


def _board_truth(connection: Connection, rows: list) -> dict[int, tuple[int, int]]:
    """(threads, comments) for the batch's boards, counted in SQL."""
    ids = [row.id for row in rows]
    thread_counts: dict[int, int] = dict(
        connection.execute(
            select(threads.c.board_id, func.count())
            .where(threads.c.board_id.in_(ids))
            .group_by(threads.c.board_id)
        ).all()
    )
    comment_counts: dict[int, int] = dict(
        connection.execute(
            select(threads.c.board_id, func.count())
            .select_from(comments.join(threads, comments.c.thread_id == threads.c.id))
            .where(threads.c.board_id.in_(ids))
            .group_by(threads.c.board_id)
        ).all()
    )
    return {i: (thread_counts.get(i, 0), comment_counts.get(i, 0)) for i in ids}


def _user_truth(connection: Connection, rows: list) -> dict[int, tuple[int]]:
    """(comments,) for the batch's users, counted in SQL."""
    ids = [row.id for row in rows]
    counts: dict[int, int] = dict(
        connection.execute(
            select(comments.c.author_id, func.count())
            .where(comments.c.author_id.in_(ids))
            .group_by(comments.c.author_id)
        ).all()
    )
    return {i: (counts.get(i, 0),) for i in ids}


#: (kind, table, counter columns, how to compute their truth for a batch), in lock order
PARENTS = (
    ("thread", threads, THREAD_COUNTERS, _thread_truth),
    ("board", boards, BOARD_COUNTERS, _board_truth),
    ("user", users, USER_COUNTERS, _user_truth),
)


def _batches(connection: Connection, table, columns: tuple[str, ...], batch: int, lock: bool):
    """Rows of ``table`` in id order, one transaction per batch, locked when repairing.

    Inside a caller's transaction (the test suite), each batch is a savepoint instead.
    """
    last = None
    while True:
        begin = connection.begin_nested if connection.in_transaction() else connection.begin
        with begin():
            query = select(table.c.id, *(table.c[c] for c in columns)).order_by(table.c.id)
            query = query.limit(batch)
            if last is not None:
                query = query.where(table.c.id > last)
            if lock:
                query = query.with_for_update()
            rows = connection.execute(query).all()
            if not rows:
                return
            yield rows
        last = rows[-1].id


def _compare(kind: str, columns: tuple[str, ...], rows: list, truth: dict) -> tuple[list, list]:
    """The drifted counters of a batch, and the repairs (one per drifted row)."""
    drift, repairs = [], []
    for row in rows:
        stored = tuple(getattr(row, column) for column in columns)
        true = truth.get(row.id, (0,) * len(columns))  # a parent with no children: 0
        if stored == true:
            continue
        drift += [
            Drift(kind, str(row.id), column, old, new)
            for column, old, new in zip(columns, stored, true, strict=True)
            if old != new
        ]
        repairs.append(
            {"key": row.id} | {f"true_{c}": v for c, v in zip(columns, true, strict=True)}
        )
    return drift, repairs


def reconcile(
    connection: Connection,
    *,
    fix: bool = False,
    batch: int = 1000,
    on_drift: Callable[[Drift], None] | None = None,
) -> Report:
    """Check (and with ``fix`` repair) every thread, board and user counter.

    Each batch commits on its own, so locks are held for one batch at a time.
    """
    report = Report(fixed=fix)
    for kind, table, columns, truth_of in PARENTS:
        checked = 0
        for rows in _batches(connection, table, columns, batch, lock=fix):
            checked += len(rows)
            drift, repairs = _compare(kind, columns, rows, truth_of(connection, rows))
            for found in drift:
                report.drift.append(found)
                if on_drift is not None:
                    on_drift(found)
            if fix and repairs:
                connection.execute(
                    update(table)
                    .where(table.c.id == bindparam("key"))
                    .values({column: bindparam(f"true_{column}") for column in columns}),
                    repairs,
                )
        setattr(report, f"{kind}s_checked", checked)
    return report
