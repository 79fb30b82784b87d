"""Compare every declared counter with the truth, and repair drift without losing writes.

The truth is generated from the declaration, never written by hand:

* ``count``: the children per parent, ``count(*) ... GROUP BY`` the key;
* ``total``: the children's column summed per parent, in SQL, or, when the
  declaration weighs it with a Python function (a message's words), streamed
  batch by batch through that one function, so a million rows never sit in
  memory at once;
* ``rollup``: the counter it passes on, aggregated one level further up
  (a board's comments: its threads' comments, joined through the threads).

With ``fix``, each batch's parent rows are locked (``FOR UPDATE``, in key
order, the order every writer uses) before their truth is read: a writer that
changes one of them meanwhile waits, and its ``x = x + delta`` lands on the
repaired value instead of being overwritten. A parent with no children counts 0.

``set_counters`` is the set-based form for bulk loads: one UPDATE per parent
class, in lock order, for the counters SQL can compute.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from sqlalchemy import Connection, Select, bindparam, func, select, update
from sqlalchemy.sql import ColumnElement, FromClause

from .declaration import Counter, CounterSet, Edge, owner, primary_key, table_of


@dataclass(frozen=True)
class Drift:
    """One counter whose stored value differs from the truth."""

    kind: str  # the parent's table name, singular: "thread", "board", "user"
    id: str
    column: str
    stored: int
    true: int

    def __str__(self) -> str:
        return f"{self.kind} {self.id} {self.column}: stored {self.stored}, true {self.true}"


@dataclass
class Report:
    #: kind -> parent rows checked
    checked: dict[str, int] = field(default_factory=dict)
    drift: list[Drift] = field(default_factory=list)
    fixed: bool = False

    @property
    def drifted_rows(self) -> int:
        return len({(d.kind, d.id) for d in self.drift})

    def summary(self) -> str:
        parts = [f"{n} {kind}s" for kind, n in self.checked.items()]
        listed = ", ".join(parts[:-1]) + f" and {parts[-1]}" if len(parts) > 1 else "".join(parts)
        checked = f"checked {listed}"
        if not self.drift:
            return f"{checked}: no drift"
        outcome = "fixed" if self.fixed else "not fixed (run with --fix)"
        return (
            f"{checked}: {len(self.drift)} counters drifted in {self.drifted_rows} rows, {outcome}"
        )


def kind_of(cls: type) -> str:
    """A parent's kind, as reports name it: its table's name, singular."""
    name = table_of(cls).name
    return name[:-1] if name.endswith("s") else name


# --- the truth, from the declaration ---------------------------------------------


def _source_of(counters: CounterSet, rollup: Counter) -> Counter:
    """The item counter a rollup passes on (a thread's comment count)."""
    assert rollup.source is not None
    for edge in counters.item_edges:
        for counter in edge.counters:
            if counter.column == rollup.source.key and edge.parent is owner(rollup.path):
                return counter
    raise LookupError(f"{rollup.source} is not counted from the items")


def _path(counters: CounterSet, counter: Counter) -> tuple[Counter, list[Edge]]:
    """The counter that aggregates item (or middle) rows, and the edges from those rows
    up to ``counter``'s parent."""
    edge = _edge(counters, counter)
    if counter.kind != "rollup":
        return counter, [edge]
    source = _source_of(counters, counter)
    return source, [_edge(counters, source), edge]


def _edge(counters: CounterSet, counter: Counter) -> Edge:
    return next(e for e in counters.edges if counter in e.counters)


def _joined(edges: list[Edge]) -> tuple[FromClause, ColumnElement[Any]]:
    """The rows at the bottom of ``edges``, joined up to the last edge's key."""
    rows: FromClause = table_of(edges[0].child)
    for lower, upper in pairwise(edges):
        rows = rows.join(table_of(upper.child), lower.fk == primary_key(upper.child))
    return rows, edges[-1].fk


def _truth_of(
    counters: CounterSet, connection: Connection, counter: Counter, keys: Sequence[Any]
) -> dict[Any, int]:
    """``counter``'s true value for each parent in ``keys`` (absent: 0)."""
    base, edges = _path(counters, counter)
    rows, key = _joined(edges)
    if base.kind == "count":
        query: Select[Any] = select(key, func.count())
    elif base.weigh is None:
        query = select(key, func.coalesce(func.sum(table_of(owner(base.path)).c[_col(base)]), 0))
    else:  # weighed in Python: stream the rows, never hold them all
        column = table_of(owner(base.path)).c[_col(base)]
        result = connection.execute(
            select(key, column).select_from(rows).where(key.in_(keys)),
            execution_options={"yield_per": 5000},
        )
        truth: dict[Any, int] = defaultdict(int)
        for parent, value in result:
            truth[parent] += base.amount(value)
        return truth
    return dict(
        connection.execute(query.select_from(rows).where(key.in_(keys)).group_by(key)).all()
    )


def _col(counter: Counter) -> str:
    assert counter.source is not None
    return counter.source.property.columns[0].name


def _counter_for(counters: CounterSet, cls: type, column: str) -> Counter:
    return next(
        c for e in counters.edges if e.parent is cls for c in e.counters if c.column == column
    )


def truth(
    counters: CounterSet, connection: Connection, cls: type, keys: Sequence[Any]
) -> dict[Any, tuple[int, ...]]:
    """The true counters of the ``cls`` rows ``keys``, in ``counters.columns(cls)`` order."""
    columns = counters.columns(cls)
    values = [
        _truth_of(counters, connection, _counter_for(counters, cls, c), keys) for c in columns
    ]
    return {key: tuple(v.get(key, 0) for v in values) for key in keys}


# --- checking and repairing, batch by batch ---------------------------------------


def _batches(
    connection: Connection,
    cls: type,
    columns: tuple[str, ...],
    batch: int,
    lock: bool,
    only: Iterable[Any] | None,
) -> Iterator[list[Any]]:
    """Rows of ``cls`` in key order, one transaction per batch, locked when repairing.

    Inside a caller's transaction (the test suite), each batch is a savepoint instead.
    """
    table = table_of(cls)
    pk = primary_key(cls)
    wanted = sorted(only) if only is not None else None
    last = None
    while True:
        begin = connection.begin_nested if connection.in_transaction() else connection.begin
        with begin():
            query = select(pk, *(table.c[c] for c in columns)).order_by(pk).limit(batch)
            if last is not None:
                query = query.where(pk > last)
            if wanted is not None:
                query = query.where(pk.in_(wanted))
            if lock:
                query = query.with_for_update()
            rows = list(connection.execute(query).all())
            if not rows:
                return
            yield rows
        last = rows[-1][0]


def reconcile(
    counters: CounterSet,
    connection: Connection,
    *,
    fix: bool = False,
    batch: int = 1000,
    on_drift: Callable[[Drift], None] | None = None,
    only: dict[type, Iterable[Any] | None] | None = None,
) -> Report:
    """Check (and with ``fix`` repair) every counter of every parent in ``counters``.

    ``only``: check just these keys of these classes (the others not at all).
    Each batch commits on its own, so locks are held for one batch at a time.
    """
    report = Report(fixed=fix)
    for cls, columns in counters.parents.items():
        if only is not None and cls not in only:
            continue
        table = table_of(cls)
        kind = kind_of(cls)
        checked = 0
        keys = only.get(cls) if only is not None else None
        for rows in _batches(connection, cls, columns, batch, fix, keys):
            checked += len(rows)
            true = truth(counters, connection, cls, [row[0] for row in rows])
            repairs = []
            for row in rows:
                stored, real = tuple(row[1:]), true[row[0]]
                if stored == real:
                    continue
                for column, old, new in zip(columns, stored, real, strict=True):
                    if old != new:
                        found = Drift(kind, str(row[0]), column, old, new)
                        report.drift.append(found)
                        if on_drift is not None:
                            on_drift(found)
                repairs.append(
                    {"key": row[0]} | {f"true_{c}": v for c, v in zip(columns, real, strict=True)}
                )
            if fix and repairs:
                connection.execute(
                    update(table)
                    .where(primary_key(cls) == bindparam("key"))
                    .values({c: bindparam(f"true_{c}") for c in columns}),
                    repairs,
                )
        report.checked[kind] = checked
    return report


def set_counters(counters: CounterSet, connection: Connection, *, skip: Iterable[Any] = ()) -> None:
    """Set every counter SQL can compute in one set-based UPDATE per parent class, in lock
    order (a rollup reads the counters just set below it). For bulk loads, where nothing
    else writes. ``skip``: counters (``Thread.word_count``) the caller sets itself; a total
    weighed in Python must be skipped."""
    skipped = {(attr.class_, attr.key) for attr in skip}
    for cls, columns in counters.parents.items():
        pk = primary_key(cls)
        values = {}
        for column in columns:
            if (cls, column) in skipped:
                continue
            counter = _counter_for(counters, cls, column)
            values[column] = _set_based(counters, counter, pk)
        if values:
            connection.execute(update(table_of(cls)).values(values))


def _set_based(counters: CounterSet, counter: Counter, pk: ColumnElement[Any]) -> Any:
    """A correlated subquery giving ``counter``'s truth for the row being updated."""
    edge = _edge(counters, counter)
    child = table_of(edge.child)
    if counter.kind == "count":
        aggregate: Any = func.count()
    elif counter.kind == "rollup" or counter.weigh is None:
        aggregate = func.coalesce(func.sum(child.c[_col(counter)]), 0)
    else:
        raise ValueError(f"{counter.into} is weighed in Python: pass it in skip= and set it")
    return select(aggregate).select_from(child).where(edge.fk == pk).scalar_subquery()
