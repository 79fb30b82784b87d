"""Writing counter changes to parent rows: atomic, ordered, and reflected in memory.

Every strategy ends here (``attribute`` and ``before_flush`` once per flush,
``after_insert`` once per changed row). Three rules make it safe with many
writers:

* The database does the arithmetic: ``SET word_count = word_count + :delta``.
  A concurrent writer's change is never overwritten by a stale copy.
* Rows are locked in one order, in one pass: the declaration's lock order
  (the middle parents, threads, then the others: boards, users), and by key
  within a class. Two transactions touching the same rows queue instead of
  deadlocking.
* Whatever a grandparent (a board) gains or loses is read from the middle
  parent's row (the thread's) as it is when it is locked: a comment's share
  goes to the board the thread is on now (``RETURNING board_id``), and a
  thread leaving its board takes the comment count it has now. A thread that
  is gone raises StaleDataError (the request is retried) instead of being
  taken off its board twice.

The values the UPDATEs return are written into the session's copies of the
rows (``copies.refresh_copy``), so the request sees fresh counters.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, Integer, Table, bindparam, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from . import prepared
from .copies import refresh_copy
from .declaration import CounterSet, primary_key, table_of
from .shares import add_into, is_new, membership, rolled_up


class ParentUpdates:
    """Net counter changes for parent rows, applied in lock order."""

    def __init__(self, counters: CounterSet) -> None:
        self.counters = counters
        #: parent class -> key -> column -> the change
        self.deltas: dict[type, dict[Any, dict[str, int]]] = {
            cls: defaultdict(dict) for cls in counters.lock_order
        }
        #: middle key -> the parent it leaves: None for "the one its row names now"
        self.leaving: dict[Any, Any] = {}
        #: middle key -> the parent it joins (a new parent object is changed in memory)
        self.joining: dict[Any, Any] = {}
        #: middle key -> items to leave out: a deleted middle's other items go with it
        #: (ON DELETE CASCADE), and their other parents lose them
        self.deleted_middles: dict[Any, frozenset[Any]] = {}

    def __bool__(self) -> bool:
        return bool(
            self.leaving
            or self.joining
            or self.deleted_middles
            or any(any(d.values()) for rows in self.deltas.values() for d in rows.values())
        )

    @property
    def structural(self) -> bool:
        """Does a middle row move or go (its counts must be in its row first)?"""
        return bool(self.leaving or self.joining or self.deleted_middles)

    def merge(self, other: ParentUpdates) -> None:
        """Add ``other``'s changes to these (both of the same declaration)."""
        for cls, rows in other.deltas.items():
            for key, change in rows.items():
                self.add(cls, key, change)
        self.leaving.update(other.leaving)
        self.joining.update(other.joining)
        self.deleted_middles.update(other.deleted_middles)

    def add(self, cls: type, key: Any, change: dict[str, int]) -> None:
        if key is not None and change:
            add_into(self.deltas[cls][key], change)

    def middle_deleted(self, key: Any, counted: frozenset[Any] = frozenset()) -> None:
        """The middle row is deleted with its items; ``counted``: items this flush counts
        one by one (deleted or moved by the ORM), left out of the cascade's count."""
        self.deleted_middles[key] = counted

    def middle_leaves(self, key: Any, parent: Any = None) -> None:
        """The middle row is deleted, or moved off its parent (``parent``: already moved,
        the old parent as this flush's version check proved it)."""
        self.leaving[key] = parent

    def middle_joins(self, key: Any, parent: Any) -> None:
        self.joining[key] = parent

    def apply(self, connection: Connection, session: Session | None) -> None:
        """Issue the UPDATEs (none for a zero change) and refresh the session's copies."""
        if not self._apply_chain(connection, session):
            self._apply_middles(connection, session)
            for key, counted in self.deleted_middles.items():
                self._cascade(connection, key, counted)
            for cls in self.counters.lock_order:
                if cls in self.counters.middles:
                    continue
                for key in sorted(self.deltas[cls]):
                    change = {n: v for n, v in self.deltas[cls][key].items() if v}
                    if change:
                        row = _increment(connection, cls, key, change, self.counters.columns(cls))
                        if row is not None:
                            refresh_copy(session, self.counters, cls, key, row._mapping)
        for rows in self.deltas.values():
            rows.clear()
        self.leaving.clear()
        self.joining.clear()
        self.deleted_middles.clear()

    def _apply_middles(self, connection: Connection, session: Session | None) -> None:
        counters = self.counters
        edge = counters.middle_edge
        if edge is None:
            return
        middle = edge.child
        rows = self.deltas[middle]
        fk = edge.fk.name
        for key in sorted({*rows, *self.leaving, *self.joining}):
            delta = {n: v for n, v in rows.get(key, {}).items() if v}
            moving = key in self.leaving or key in self.joining
            if delta:
                row = _increment(connection, middle, key, delta, counters.columns(middle), (fk,))
            elif moving:
                row = _lock(connection, middle, key, (fk, *(s for s, _ in edge.rollups())))
            else:
                continue
            if row is None:
                if moving:
                    raise StaleDataError(
                        f"{middle.__name__} {key} was deleted by another transaction"
                    )
                continue  # an item for a deleted parent: its own write fails its FK
            values = row._mapping
            if delta:
                self.add(edge.parent, values[fk], rolled_up(counters, delta))
                refresh_copy(session, counters, middle, key, values)
            if key in self.leaving:
                left = self.leaving[key]
                self.add(
                    edge.parent,
                    values[fk] if left is None else left,
                    membership(counters, values, -1),
                )
            if key in self.joining:
                self._join(edge.parent, self.joining[key], membership(counters, values, 1))

    def _join(self, cls: type, parent: Any, change: dict[str, int]) -> None:
        if isinstance(parent, cls) and is_new(parent):
            for name, value in change.items():
                setattr(parent, name, getattr(parent, name) + value)
        else:
            self.add(cls, parent, change)

    def _cascade(self, connection: Connection, key: Any, counted: frozenset[Any]) -> None:
        """The other parents of the items a middle row's DELETE cascades to lose them.

        The one place where work grows with a parent: deleting a thread deletes its
        comments, so the database does that much work anyway, and this is one
        aggregate over the rows it is about to delete."""
        counters = self.counters
        main = counters.main_edge
        assert main is not None
        table = table_of(counters.item)
        pk = primary_key(counters.item)
        for edge in counters.item_edges:
            if edge is main:
                continue
            columns = edge.count_columns()
            totals = [c for c in edge.counters if c.kind == "total"]
            query = select(edge.fk, func.count()).where(main.fk == key).group_by(edge.fk)
            if totals:  # weighed in Python: read the rows being deleted anyway
                sources = [table.c[c.source.key] for c in totals]  # type: ignore[union-attr]
                query = select(edge.fk, *sources).where(main.fk == key)
            if counted:
                query = query.where(pk.not_in(sorted(counted)))
            for row in connection.execute(query):
                if totals:
                    change = {n: -1 for n in columns}
                    for c, value in zip(totals, row[1:], strict=True):
                        change[c.column] = change.get(c.column, 0) - c.amount(value)
                else:
                    change = {n: -row[1] for n in columns}
                self.add(edge.parent, row[0], change)

    def _apply_chain(self, connection: Connection, session: Session | None) -> bool:
        """The usual write (one item created or deleted), in one statement: the middle
        row's counters, its parent's (the parent the middle row's RETURNING names) and
        each other parent's, locked in the usual order. Only when this is the whole
        change: with several middle rows, their parents must wait for every middle row.

        Taking away (a delete) is two statements, the middle row's and then the rest:
        a statement's snapshot predates its wait for the middle row's lock, so if another
        transaction has just moved the middle row to this parent, the parent's row as of
        that snapshot lacks it, and PostgreSQL checks ``CHECK (x >= 0)`` on that stale
        version before re-reading the row, refusing a correct decrement. The second
        statement's snapshot sees the move."""
        counters = self.counters
        edge = counters.middle_edge
        if edge is None or self.leaving or self.joining or self.deleted_middles:
            return False
        middles = {k: d for k, d in self.deltas[edge.child].items() if any(d.values())}
        if len(middles) != 1 or any(self.deltas[edge.parent].values()):
            return False
        others = [cls for cls in counters.lock_order if cls not in (edge.child, edge.parent)]
        touched = {
            cls: {k: d for k, d in self.deltas[cls].items() if any(d.values())} for cls in others
        }
        if any(len(rows) > 1 for rows in touched.values()):
            return False
        ((key, delta),) = middles.items()
        roll = rolled_up(counters, delta)
        if not roll:
            return False  # no rollup: the middle row's UPDATE alone
        middle_columns = counters.columns(edge.child)
        parent_columns = counters.columns(edge.parent)
        others_touched = [
            (cls, other_key, change) for cls in others for other_key, change in touched[cls].items()
        ]
        params: dict[str, Any] = {f"p_d_{n}": v for n, v in roll.items()}
        for i, (_cls, other_key, change) in enumerate(others_touched):
            params[f"o{i}_key"] = other_key
            params |= {f"o{i}_d_{n}": v for n, v in change.items() if v}
        others_shape = tuple(
            (cls, tuple(n for n in counters.columns(cls) if change.get(n)))
            for cls, _, change in others_touched
        )
        if any(value < 0 for value in roll.values()):
            middle_row = _increment(
                connection, edge.child, key, delta, middle_columns, (edge.fk.name,)
            )
            if middle_row is None:
                return True  # the middle row is gone, and the item's own write fails
            middle_values = middle_row._mapping
            refresh_copy(session, counters, edge.child, key, middle_values)
            middle_shape: tuple = ()
            params["p_key"] = middle_values[edge.fk.name]
        else:
            middle_shape = (edge.child, tuple(n for n in middle_columns if delta.get(n)))
            params["m_key"] = key
            params |= {f"m_d_{n}": v for n, v in delta.items() if v}
        shape = ("chain", middle_shape, tuple(roll), others_shape)
        row = _execute(connection, shape, lambda: self._chain_statement(shape), params)
        row = row.one_or_none()
        if row is None:  # the middle row is gone, and the item's own write fails
            return True
        values = row._mapping
        if middle_shape:
            refresh_copy(
                session, counters, edge.child, key, {n: values[f"m_{n}"] for n in middle_columns}
            )
        refresh_copy(
            session, counters, edge.parent, row[0], {n: values[f"p_{n}"] for n in parent_columns}
        )
        for i, (cls, other_key, _change) in enumerate(others_touched):
            names = counters.columns(cls)
            if values[f"o{i}_{names[0]}"] is not None:
                refresh_copy(
                    session, counters, cls, other_key, {n: values[f"o{i}_{n}"] for n in names}
                )
        return True

    def _chain_statement(self, shape: tuple) -> Any:
        """The chain's statement for ``shape``, with a bind parameter for every key and
        delta: built and compiled once per shape, then only executed. With a middle part,
        the parent is the one the middle row's UPDATE returns; without, ``p_key``."""
        _, middle_shape, rolls, others = shape
        counters = self.counters
        edge = counters.middle_edge
        assert edge is not None
        parent_table = table_of(edge.parent)
        returning: list[Any] = [primary_key(edge.parent)]
        returning += [parent_table.c[n].label(f"p_{n}") for n in counters.columns(edge.parent)]
        parent_key: Any = bindparam("p_key")
        if middle_shape:
            middle_cls, middle_deltas = middle_shape
            middle_table = table_of(middle_cls)
            middle_columns = counters.columns(middle_cls)
            fk = edge.fk.name
            middle = (
                update(middle_table)
                .where(primary_key(middle_cls) == bindparam("m_key"))
                .values(
                    {
                        n: middle_table.c[n] + bindparam(f"m_d_{n}", type_=Integer)
                        for n in middle_deltas
                    }
                )
                .returning(middle_table.c[fk], *(middle_table.c[n] for n in middle_columns))
                .cte("middle")
            )
            parent_key = middle.c[fk]
            returning += [middle.c[n].label(f"m_{n}") for n in middle_columns]
        # Read only by the RETURNING list, which PostgreSQL computes after the parent's
        # row is updated: the other parents' rows are locked last, as in the general order.
        for i, (cls, changed_columns) in enumerate(others):
            table = table_of(cls)
            names = counters.columns(cls)
            cte = (
                update(table)
                .where(primary_key(cls) == bindparam(f"o{i}_key"))
                .values(
                    {
                        n: table.c[n] + bindparam(f"o{i}_d_{n}", type_=Integer)
                        for n in changed_columns
                    }
                )
                .returning(*(table.c[n] for n in names))
                .cte(f"other_{i}")
            )
            returning += [select(cte.c[n]).scalar_subquery().label(f"o{i}_{n}") for n in names]
        return (
            update(parent_table)
            .where(primary_key(edge.parent) == parent_key)
            .values({n: parent_table.c[n] + bindparam(f"p_d_{n}", type_=Integer) for n in rolls})
            .returning(*returning)
        )


#: (dialect, statement shape) -> the compiled SQL
_COMPILED: dict[tuple[str, tuple], str] = {}


def _execute(connection: Connection, shape: tuple, build: Any, params: dict[str, Any]) -> Any:
    """Execute the statement ``build()`` makes for ``shape``, compiled once per shape.

    The counters' statements are few and fixed in form (which counters move, which
    parents); building and compiling one each time cost more Python than the rest of
    the counter bookkeeping. Executed as driver SQL, still through the connection (its
    events, its transaction), and prepared once per connection (``prepared``)."""
    cache_key = (connection.dialect.name, shape)
    sql = _COMPILED.get(cache_key)
    if sql is None:
        sql = _COMPILED[cache_key] = str(build().compile(dialect=connection.dialect))
    return prepared.execute(connection, sql, params)


def _increment(
    connection: Connection,
    cls: type,
    key: Any,
    deltas: dict[str, int],
    counters: tuple[str, ...],
    also: tuple[str, ...] = (),
):
    """``UPDATE table SET x = x + :dx ... WHERE pk = :key RETURNING ...``; None if no row.

    Only the columns that change are set, so the SQL says exactly what moved; the
    RETURNING list has every counter of the row (and ``also``).
    """
    changed = tuple(n for n in counters if deltas.get(n))
    shape = ("increment", cls, changed, counters, also)

    def build() -> Any:
        table: Table = table_of(cls)
        return (
            update(table)
            .where(primary_key(cls) == bindparam("key"))
            .values({n: table.c[n] + bindparam(f"d_{n}", type_=Integer) for n in changed})
            .returning(*(table.c[n] for n in dict.fromkeys((*also, *counters))))
        )

    params = {"key": key} | {f"d_{n}": deltas[n] for n in changed}
    return _execute(connection, shape, build, params).one_or_none()


def _lock(connection: Connection, cls: type, key: Any, columns: tuple[str, ...]):
    """The row's values as they are now, locked until the transaction ends: ``FOR UPDATE``
    waits for any writer holding the row and then reads its latest committed version, and
    keeps new children out (their foreign-key check waits)."""
    table = table_of(cls)
    return connection.execute(
        select(*(table.c[n] for n in columns)).where(primary_key(cls) == key).with_for_update()
    ).one_or_none()
