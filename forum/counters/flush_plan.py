"""What the next flush will write to item and middle-parent rows, worked out before it runs.

The ``before_flush`` and ``attribute`` strategies change the parents' counters
before the flush writes the items (comments), so they must know exactly which
rows the flush will insert, update and delete, with which parents and weighed
values. Looking only at the changed item is not enough; SQLAlchemy's unit of
work also decides through the parents' collections (a thread's ``comments``):

* a comment appended to a thread's collection is written into that thread,
  even if the comment's own change was expired or refreshed away, and its
  ``session.delete()`` is cancelled (it was re-parented, so it lives on);
* a comment removed from a collection (delete-orphan) is deleted, even if it
  was never passed to ``session.delete()``;
* when both the relationship and the key of a comment were set, the
  relationship wins: the flush copies the related thread's id into the key.

This module follows those rules, and nothing else decides what the strategies
count. The old side of every change is not taken from the session's copy but
from the row itself, read under a lock (``row_locks``), so a partially
expired or ``load_only`` comment is counted from what the database holds.
``flush_check`` then compares this plan with the rows the flush really writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Mapper, Session
from sqlalchemy.orm.attributes import INCLUDE_PENDING_MUTATIONS, PASSIVE_NO_INITIALIZE
from sqlalchemy.orm.attributes import get_history as _get_history
from sqlalchemy.orm.state import InstanceState

from .declaration import CounterSet, Edge
from .history import changed, committed_value
from .shares import ParentRef, Share, parent_ref

_PENDING = PASSIVE_NO_INITIALIZE | INCLUDE_PENDING_MUTATIONS

#: "The flush does not change this": the row's value, read under lock.
UNCHANGED: Any = object()


@dataclass
class ItemWrite:
    """One item row the flush writes: ``old`` is None for an INSERT, ``new()`` for a DELETE.

    For an UPDATE or DELETE, ``old`` is filled in from the locked row
    (``row_locks.lock_and_read``) before any counter moves.
    """

    item: Any
    old: Share | None = None
    #: per declared path: the parent written, or UNCHANGED (the row's, once read)
    new_parents: tuple[Any, ...] = ()
    #: per weighed column: the new weight, or None for "unchanged" (the row's, once read)
    new_weights: tuple[int | None, ...] = ()
    deleted: bool = False

    def new(self) -> Share | None:
        if self.deleted:
            return None
        old = self.old
        if old is None:
            assert UNCHANGED not in self.new_parents and None not in self.new_weights, (
                "the row is read before its share is needed"
            )
        parents = tuple(
            old.parents[i] if p is UNCHANGED and old is not None else parent_ref(p)
            for i, p in enumerate(self.new_parents)
        )
        weights = tuple(
            old.weights[i] if w is None and old is not None else (w or 0)
            for i, w in enumerate(self.new_weights)
        )
        return Share(parents, weights)


@dataclass
class MiddleWrite:
    """A middle parent's row (a thread) the flush inserts, moves to another parent, or
    deletes."""

    obj: Any
    new_parent: Any = None
    inserted: bool = False
    deleted: bool = False


@dataclass
class FlushPlan:
    items: dict[InstanceState, ItemWrite] = field(default_factory=dict)
    middles: list[MiddleWrite] = field(default_factory=list)


def _history(obj: object, key: str):
    return _get_history(obj, key, passive=_PENDING)


def written_parent(obj: Any, edge: Edge) -> Any:
    """The parent the flush writes into ``obj``'s key on ``edge`` (the relationship wins):
    an object, a key, None, or UNCHANGED when neither relationship nor key was changed."""
    history = _history(obj, edge.relationship)
    if history.added:
        return history.added[0]
    if history.deleted:
        return None  # ``comment.thread = None``: the flush clears the key
    if changed(obj, edge.key) or inspect(obj).key is None:
        return obj.__dict__.get(edge.key)
    return UNCHANGED


def written_parent_ref(obj: Any, edge: Edge) -> ParentRef:
    """The parent ``obj`` is written with on ``edge``, as a reference (its row's when
    unchanged)."""
    parent = written_parent(obj, edge)
    if parent is UNCHANGED:
        if edge.key in obj.__dict__:
            return obj.__dict__[edge.key]
        return committed_value(obj, edge.key)
    return parent_ref(parent)


def new_weights(counters: CounterSet, item: Any, *, inserting: bool) -> tuple[int | None, ...]:
    """The weight of each weighed column being changed (None: not changed)."""
    weights: list[int | None] = []
    for weighed in counters.weighed:
        key = weighed.source.key  # type: ignore[union-attr]
        if inserting or changed(item, key):
            weights.append(weighed.amount(item.__dict__.get(key)))
        else:
            weights.append(None)
    return tuple(weights)


def _collection_changes(
    counters: CounterSet, saved: set[InstanceState], deleted: set[InstanceState]
) -> tuple[dict[tuple[InstanceState, int], Any], set[InstanceState]]:
    """Items that parents' collections re-parent (per path), and orphans they delete."""
    parent_of: dict[tuple[InstanceState, int], Any] = {}
    orphaned: set[InstanceState] = set()
    paths = [(i, e) for i, e in enumerate(counters.item_edges) if e.collection]
    if not paths:
        return parent_of, orphaned
    for state in saved | deleted:
        for i, edge in paths:
            if not isinstance(state.obj(), edge.parent):
                continue
            assert edge.collection is not None
            history = _history(state.obj(), edge.collection)
            has_parent = getattr(edge.parent, edge.collection).impl.hasparent
            if state in saved:  # a parent being deleted re-parents nothing
                for child in history.added:
                    if child is not None:
                        parent_of[(inspect(child), i)] = state.obj()
            for child in history.deleted:
                if child is not None and has_parent(inspect(child)) is False:
                    orphaned.add(inspect(child))
    return parent_of, orphaned


def plan_flush(counters: CounterSet, session: Session) -> FlushPlan:
    """What the coming flush writes for items and middle parents, by SQLAlchemy's rules."""
    plan = FlushPlan()
    # Each of session.new / dirty / deleted builds a fresh set: read them once.
    new, dirty, gone = list(session.new), list(session.dirty), list(session.deleted)
    deleted = {inspect(obj) for obj in gone}
    saved = {inspect(obj) for obj in (*new, *dirty)} - deleted
    parent_of, orphaned = _collection_changes(counters, saved, deleted)
    item_mapper: Mapper[Any] = inspect(counters.item)
    reparented = {state for state, _ in parent_of}

    def is_orphan(state: InstanceState) -> bool:
        return state.key is not None and (state in orphaned or item_mapper._is_orphan(state))

    for state in saved | deleted | reparented | orphaned:
        item = state.obj()
        if item is None or not isinstance(item, counters.item):
            continue
        if state.session_id != session.hash_key:
            continue  # re-parented in a collection but not in this session: not written
        is_deleted = (state in deleted and state not in reparented) or (
            state not in deleted and is_orphan(state)
        )
        if is_deleted:
            if state.key is not None:
                plan.items[state] = ItemWrite(item, deleted=True)
            continue
        parents = tuple(
            parent_of[(state, i)] if (state, i) in parent_of else written_parent(item, edge)
            for i, edge in enumerate(counters.item_edges)
        )
        weights = new_weights(counters, item, inserting=state.key is None)
        if (
            state.key is None
            or any(p is not UNCHANGED for p in parents)
            or any(w is not None for w in weights)
        ):
            plan.items[state] = ItemWrite(item, new_parents=parents, new_weights=weights)

    edge = counters.middle_edge
    if edge is None:
        return plan
    for obj in new:
        if isinstance(obj, edge.child) and inspect(obj) not in deleted:
            plan.middles.append(
                MiddleWrite(obj, new_parent=written_parent_ref(obj, edge), inserted=True)
            )
    for obj in dirty:
        if isinstance(obj, edge.child) and inspect(obj) not in deleted:
            if not (changed(obj, edge.relationship) or changed(obj, edge.key)):
                continue
            parent = written_parent_ref(obj, edge)
            if parent != committed_value(obj, edge.key):
                plan.middles.append(MiddleWrite(obj, new_parent=parent))
    for obj in gone:
        if isinstance(obj, edge.child) and inspect(obj).key is not None:
            plan.middles.append(MiddleWrite(obj, deleted=True))
    return plan
