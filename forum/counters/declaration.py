"""Declaring counters: on the child, with the path to the parent, into a parent's column.

    COUNTERS = CounterSet(
        count(Comment.thread, into=Thread.comment_count),
        total(Comment.thread, Comment.message, weigh=word_count, into=Thread.word_count),
        count(Thread.board, into=Board.thread_count),
        rollup(Thread.board, Thread.comment_count, into=Board.comment_count),
    )

Three kinds, and every strategy, guard, check and repair reads them from here:

* ``count(path, into=)``: each child row adds 1 to the parent ``path`` names;
* ``total(path, column, weigh=, into=)``: each child row adds ``weigh(column)``
  (the column's value itself when ``weigh`` is None);
* ``rollup(path, source, into=)``: a child that is itself a counted parent
  passes its counter ``source`` on to its own parent (a board's comments are
  its threads' comments).

The shape this package keeps exact: one *item* class (the rows being counted:
comments, line items), whose many-to-one paths lead to any number of parents;
at most one of those parents is itself counted into a *grandparent*, by
``count`` and ``rollup`` (threads into boards, orders into customers).
``CounterSet`` checks the declaration against that shape when it is made.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, Table, inspect
from sqlalchemy.orm import InstrumentedAttribute, Mapper, RelationshipProperty

Weigh = Callable[[Any], int]


class DeclarationError(ValueError):
    """A counter declaration this package cannot keep exact, and why."""


@dataclass(frozen=True, eq=False)
class Counter:
    """One declared counter: ``kind`` is "count", "total" or "rollup"."""

    kind: str
    path: InstrumentedAttribute[Any]
    into: InstrumentedAttribute[Any]
    #: total: the child's column weighed; rollup: the child's counter passed on
    source: InstrumentedAttribute[Any] | None = None
    weigh: Weigh | None = None

    @property
    def column(self) -> str:
        """The parent's counter column this counter writes."""
        return self.into.key

    def amount(self, value: Any) -> int:
        """What one child whose ``source`` holds ``value`` adds (total only)."""
        if self.weigh is not None:
            return self.weigh(value)
        return int(value or 0)


def count(path: InstrumentedAttribute[Any], *, into: InstrumentedAttribute[Any]) -> Counter:
    """Each child row adds 1 to the parent ``path`` leads to."""
    return Counter("count", path, into)


def total(
    path: InstrumentedAttribute[Any],
    column: InstrumentedAttribute[Any],
    *,
    into: InstrumentedAttribute[Any],
    weigh: Weigh | None = None,
) -> Counter:
    """Each child row adds ``weigh(column)`` (or the column's value) to its parent."""
    return Counter("total", path, into, source=column, weigh=weigh)


def rollup(
    path: InstrumentedAttribute[Any],
    source: InstrumentedAttribute[Any],
    *,
    into: InstrumentedAttribute[Any],
) -> Counter:
    """A counted child passes its counter ``source`` on to its own parent."""
    return Counter("rollup", path, into, source=source)


@dataclass(eq=False)
class Edge:
    """A many-to-one path from a child class to a parent class, and what it counts."""

    child: type
    relationship: str  # the child's relationship to the parent ("thread")
    key: str  # the child's foreign-key attribute ("thread_id")
    parent: type
    counters: list[Counter] = field(default_factory=list)
    #: the parent's collection of these children, when the relationship has one ("comments")
    collection: str | None = None
    #: the foreign key deletes the child with its parent (ON DELETE CASCADE)
    cascades: bool = False

    @property
    def fk(self) -> Column[Any]:
        return _table(self.child).c[_column_name(self.child, self.key)]

    def count_columns(self) -> list[str]:
        return [c.column for c in self.counters if c.kind == "count"]

    def rollups(self) -> list[tuple[str, str]]:
        """(the child's source counter, the parent's column) for each rollup."""
        return [(c.source.key, c.column) for c in self.counters if c.kind == "rollup"]  # type: ignore[union-attr]


class CounterSet:
    """A declaration of counters, analysed once: the edges, the classes, the lock order."""

    def __init__(self, *counters: Counter) -> None:
        if not counters:
            raise DeclarationError("a CounterSet needs at least one counter")
        self.counters = counters
        self.edges: list[Edge] = []
        for counter in counters:
            self._edge_for(counter).counters.append(counter)
        children = {edge.child for edge in self.edges}
        parents = list(dict.fromkeys(edge.parent for edge in self.edges))
        items = [c for c in dict.fromkeys(e.child for e in self.edges) if c not in parents]
        if len(items) != 1:
            raise DeclarationError(
                "declare the counters of one item class (the rows being counted); "
                f"found {', '.join(c.__name__ for c in items) or 'none'}"
            )
        #: the class whose rows are counted (Comment)
        self.item: type = items[0]
        #: the item's paths to its parents, in declaration order
        self.item_edges = [e for e in self.edges if e.child is self.item]
        #: the parents that are counted into a parent of their own (Thread)
        self.middles = [p for p in parents if p in children]
        self._check_shape()
        middle = self.middles[0] if self.middles else None
        #: the item's path to the middle parent, whose changes roll up (Comment.thread)
        self.main_edge = next((e for e in self.item_edges if e.parent is middle), None)
        #: the middle parent's path to its own parent (Thread.board)
        self.middle_edge = next((e for e in self.edges if e.child is middle), None)
        #: every counted parent, in the order rows are locked: the middle parent, its own
        #: parent, then the others in declaration order
        first = [*self.middles, *([self.middle_edge.parent] if self.middle_edge else [])]
        self.lock_order = [*first, *(p for p in parents if p not in first)]
        #: the item's weighed columns, each once: (attribute, how to weigh it)
        self.weighed: list[Counter] = []
        for edge in self.item_edges:
            for counter in edge.counters:
                if counter.kind == "total" and not any(
                    w.source.key == counter.source.key and w.weigh is counter.weigh  # type: ignore[union-attr]
                    for w in self.weighed
                ):
                    self.weighed.append(counter)

    # --- analysis ---------------------------------------------------------------

    def _edge_for(self, counter: Counter) -> Edge:
        prop = counter.path.property
        if not isinstance(prop, RelationshipProperty) or prop.uselist:
            raise DeclarationError(f"{counter.path} is not a many-to-one relationship")
        child = owner(counter.path)
        parent = prop.mapper.class_
        if owner(counter.into) is not parent:
            raise DeclarationError(f"{counter.into} is not a column of {parent.__name__}")
        if counter.source is not None and owner(counter.source) is not child:
            raise DeclarationError(f"{counter.source} is not a column of {child.__name__}")
        for edge in self.edges:
            if edge.child is child and edge.relationship == counter.path.key:
                return edge
        (local,) = prop.local_columns
        mapper: Mapper[Any] = inspect(child)
        (fk,) = local.foreign_keys
        edge = Edge(
            child,
            counter.path.key,
            mapper.get_property_by_column(local).key,
            parent,
            collection=prop.back_populates or (prop.backref and str(prop.backref)),
            cascades=(fk.ondelete or "").upper() == "CASCADE",
        )
        self.edges.append(edge)
        return edge

    def _check_shape(self) -> None:
        if len(self.middles) > 1:
            raise DeclarationError("at most one counted parent may roll up into its own parent")
        for edge in self.edges:
            if edge.child is self.item:
                if any(c.kind == "rollup" for c in edge.counters):
                    raise DeclarationError(
                        f"{edge.child.__name__} rolls up nothing: it has no counters"
                    )
                continue
            if [e for e in self.edges if e.child is edge.child] != [edge]:
                raise DeclarationError(f"{edge.child.__name__} may count into one parent only")
            if any(c.kind == "total" for c in edge.counters):
                raise DeclarationError(
                    f"{edge.child.__name__} is a counted parent: count it or roll its counters up"
                )
            for counter in edge.counters:
                declared = {
                    c.column for e in self.edges if e.parent is edge.child for c in e.counters
                }
                if counter.kind == "rollup" and counter.source.key not in declared:  # type: ignore[union-attr]
                    raise DeclarationError(f"{counter.source} is not a declared counter")

    # --- questions the strategies, guards and tools ask ---------------------------

    def columns(self, parent: type) -> tuple[str, ...]:
        """The counter columns of ``parent``, in declaration order."""
        return self.parents.get(parent, ())

    @functools.cached_property
    def parents(self) -> dict[type, tuple[str, ...]]:
        """Every counted parent class and its counter columns, in lock order."""
        return {
            cls: tuple(
                dict.fromkeys(c.column for e in self.edges if e.parent is cls for c in e.counters)
            )
            for cls in self.lock_order
        }

    @property
    def children(self) -> tuple[type, ...]:
        """The classes whose rows move counters: the item, then the middle parent."""
        return (self.item, *self.middles)

    def tracked(self, cls: type) -> tuple[str, ...]:
        """The attributes of ``cls`` whose change moves a counter (relationships, keys,
        weighed columns)."""
        names: list[str] = []
        for edge in self.edges:
            if edge.child is cls:
                names += [edge.relationship, edge.key]
        if cls is self.item:
            names += [w.source.key for w in self.weighed]  # type: ignore[union-attr]
        return tuple(dict.fromkeys(names))

    def weights(self, values: Iterable[Any]) -> tuple[int, ...]:
        """The item's weights, from its weighed columns' values (in ``weighed`` order)."""
        return tuple(w.amount(v) for w, v in zip(self.weighed, values, strict=True))

    def weight_index(self, counter: Counter) -> int:
        for i, w in enumerate(self.weighed):
            if w.source.key == counter.source.key and w.weigh is counter.weigh:  # type: ignore[union-attr]
                return i
        raise KeyError(counter)


def owner(attribute: InstrumentedAttribute[Any]) -> type:
    """The mapped class an attribute belongs to."""
    return attribute.class_  # type: ignore[return-value]


def _table(cls: type) -> Table:
    return inspect(cls).local_table


def _column_name(cls: type, key: str) -> str:
    return inspect(cls).get_property(key).columns[0].name


def table_of(cls: type) -> Table:
    """The table a mapped class writes to."""
    return _table(cls)


def primary_key(cls: type) -> Column[Any]:
    """The single-column primary key every counted class needs."""
    pk: Column[Any]
    (pk,) = inspect(cls).primary_key
    return pk
