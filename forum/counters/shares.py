"""What one item row adds to the counters, and what a change to it moves: shared arithmetic.

An item (a comment) holds a *share*: for each path it is declared on, the
parent it names; and for each weighed column, its weight. A change from one
share to another moves, on each path, either the difference in weight (same
parent) or everything from the old parent to the new one. Every strategy
counts and shows a change through ``share_change``, so they differ only in
when they notice a change and how they write it, never in this arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import inspect

from .declaration import CounterSet, Edge

#: A parent as the counters name it: its primary key, or (new, with no key yet) itself.
ParentRef = Any


def row_id(obj: Any) -> Any:
    """An object's primary key without loading anything (it may be expired or detached)."""
    state = inspect(obj)
    if state.key is not None:
        return state.key[1][0]
    (pk,) = state.mapper.primary_key
    return state.dict.get(state.mapper.get_property_by_column(pk).key)


def is_new(obj: object) -> bool:
    """Not inserted yet: its counters go into its own INSERT, there is no row to UPDATE."""
    return inspect(obj).key is None


def parent_ref(parent: Any) -> ParentRef:
    """A parent object or key, as the counters name it: a key when it has one."""
    if parent is None or not hasattr(parent, "_sa_instance_state"):
        return parent
    key = row_id(parent)
    return parent if key is None else key


@dataclass(frozen=True)
class Share:
    """What one item row adds: ``parents`` (one per declared path of the item, in order)
    and ``weights`` (one per weighed column, in ``CounterSet.weighed`` order)."""

    parents: tuple[ParentRef, ...]
    weights: tuple[int, ...]

    def by_id(self) -> Share:
        """The same share naming each parent by key (a new parent has one once inserted)."""
        return Share(tuple(parent_ref(p) for p in self.parents), self.weights)


def amounts(counters: CounterSet, edge: Edge, share: Share, sign: int = 1) -> dict[str, int]:
    """What ``share`` adds to its parent on ``edge`` (``sign`` -1: takes away)."""
    values: dict[str, int] = {}
    for counter in edge.counters:
        if counter.kind == "count":
            values[counter.column] = values.get(counter.column, 0) + sign
        elif counter.kind == "total":
            weight = share.weights[counters.weight_index(counter)]
            values[counter.column] = values.get(counter.column, 0) + sign * weight
    return {name: value for name, value in values.items() if value}


def share_change(
    counters: CounterSet, old: Share | None, new: Share | None
) -> list[tuple[Edge, ParentRef, dict[str, int]]]:
    """What an item's change from share ``old`` to ``new`` (None: no row) does: a list of
    (path, parent, {column: delta}), one or two per path, none when nothing moves."""
    moves: list[tuple[Edge, ParentRef, dict[str, int]]] = []
    for i, edge in enumerate(counters.item_edges):
        before = old.parents[i] if old is not None else None
        after = new.parents[i] if new is not None else None
        if old is not None and new is not None and before == after:
            if before is None:
                continue
            delta = {
                name: new_amount - amounts(counters, edge, old).get(name, 0)
                for name, new_amount in amounts(counters, edge, new).items()
            }
            for name, old_amount in amounts(counters, edge, old).items():
                delta.setdefault(name, -old_amount)
            delta = {name: value for name, value in delta.items() if value}
            if delta:
                moves.append((edge, before, delta))
            continue
        if old is not None and before is not None:
            moves.append((edge, before, amounts(counters, edge, old, -1)))
        if new is not None and after is not None:
            moves.append((edge, after, amounts(counters, edge, new)))
    return [(edge, parent, delta) for edge, parent, delta in moves if delta]


def membership(counters: CounterSet, values: Any, sign: int = 1) -> dict[str, int]:
    """What a middle parent (a thread) whose row holds ``values`` adds to its own parent:
    1 for each count, and its rolled-up counters."""
    edge = counters.middle_edge
    assert edge is not None
    change = {name: sign for name in edge.count_columns()}
    for source, target in edge.rollups():
        change[target] = change.get(target, 0) + sign * (_get(values, source) or 0)
    return change


def rolled_up(counters: CounterSet, delta: dict[str, int]) -> dict[str, int]:
    """What a change ``delta`` to a middle parent's counters passes on to its parent."""
    edge = counters.middle_edge
    if edge is None:
        return {}
    return {target: delta[source] for source, target in edge.rollups() if delta.get(source)}


def _get(values: Any, name: str) -> Any:
    if isinstance(values, dict):
        return values.get(name)
    return getattr(values, name)


def add_into(total: dict[str, int], change: dict[str, int]) -> None:
    for name, value in change.items():
        total[name] = total.get(name, 0) + value
