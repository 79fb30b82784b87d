"""Turn a flush plan into counter changes and write them, before the flush runs.

Shared by ``before_flush`` and ``attribute``: whatever the session did before
(set, expire, refresh, expunge, re-add, merge, savepoints), the database is
changed by one rule only: for each row the flush will write, the share the
row holds now (read under lock) against the share being written. In-memory
bookkeeping, where a strategy keeps any, never reaches the database.

A parent created in this flush has no row yet: its counters are computed from
zero here and go into its INSERT, whatever its constructor was given.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from . import at_commit
from .copies import start_at_zero
from .declaration import CounterSet
from .flush_check import remember_plan
from .flush_plan import FlushPlan, plan_flush, written_parent_ref
from .parent_writer import ParentUpdates
from .row_locks import lock_and_read
from .shares import Share, is_new, membership, rolled_up, row_id, share_change
from .strategy import counters_of


class CounterChanges:
    """Routes each change into a new parent's INSERT or into a row UPDATE."""

    def __init__(self, counters: CounterSet, session: Session, *, rows_only: bool = False) -> None:
        """``rows_only``: after the flush, when every parent has a row to update."""
        self.counters = counters
        self.rows = ParentUpdates(counters)
        self.rows_only = rows_only
        #: (class, key) -> a parent new in this flush that already has its key
        self.new_parents: dict[tuple[type, Any], Any] = {}
        if not rows_only:
            for obj in session.new:
                if type(obj) in counters.parents and row_id(obj) is not None:
                    self.new_parents[(type(obj), row_id(obj))] = obj

    def _new(self, cls: type, parent: Any) -> Any:
        """The new object ``parent`` stands for, when it has no row yet."""
        if self.rows_only:
            return None
        if isinstance(parent, cls):
            return parent if is_new(parent) else None
        return self.new_parents.get((cls, parent))

    def add(self, cls: type, parent: Any, change: dict[str, int]) -> None:
        """Add ``change`` to a parent of class ``cls`` (an object or a key)."""
        if parent is None or not change:
            return
        new = self._new(cls, parent)
        if new is None:
            self.rows.add(cls, row_id(parent) if isinstance(parent, cls) else parent, change)
            return
        for name, value in change.items():
            setattr(new, name, getattr(new, name) + value)
        edge = self.counters.middle_edge
        if edge is not None and cls is edge.child:
            self.add(edge.parent, written_parent_ref(new, edge), rolled_up(self.counters, change))

    def count_item(self, old: Share | None, new: Share | None) -> None:
        for edge, parent, change in share_change(self.counters, old, new):
            self.add(edge.parent, parent, change)


def zero_new_parents(counters: CounterSet, session: Session) -> None:
    """A new parent's counters belong to the strategy, not to its constructor."""
    parents = counters.parents
    for obj in session.new:
        names = parents.get(type(obj))
        if names:
            start_at_zero(obj, names)


def _cascade(changes: CounterChanges, plan: FlushPlan, key: Any) -> None:
    """A deleted middle row takes its items with it (ON DELETE CASCADE): their other
    parents lose them. The rows the plan writes are counted here, the others by one
    aggregate."""
    counters = changes.counters
    main = counters.item_edges.index(counters.main_edge)  # type: ignore[arg-type]
    planned = frozenset(
        row_id(w.item)
        for w in plan.items.values()
        if w.old is not None and w.old.parents[main] == key
    )
    changes.rows.middle_deleted(key, planned)
    for write in plan.items.values():
        new = write.new()
        if new is not None and new.parents[main] == key:  # written there, then cascaded
            for edge, parent, change in share_change(counters, new, None):
                if edge is not counters.main_edge:
                    changes.add(edge.parent, parent, change)


def count_flush(session: Session, *, show: bool = True) -> FlushPlan:
    """Plan the flush, lock and read the rows it changes, and write every counter change
    (or keep it for the commit: ``at_commit``; ``show``: then show it on loaded copies)."""
    counters = counters_of(session)
    plan = plan_flush(counters, session)
    lock_and_read(counters, session, plan.items.values())
    zero_new_parents(counters, session)
    changes = CounterChanges(counters, session)
    for item_write in plan.items.values():
        changes.count_item(item_write.old, item_write.new())
    edge = counters.middle_edge
    for write in plan.middles:
        assert edge is not None
        key = row_id(write.obj)  # without loading: the copy may be expired
        if write.inserted:
            # Its items (all new too) reach its parent through CounterChanges.add.
            changes.add(edge.parent, write.new_parent, membership(counters, {}, 1))
        elif write.deleted:
            changes.rows.middle_leaves(key)  # the parent its locked row names
            _cascade(changes, plan, key)
        else:
            changes.rows.middle_leaves(key)
            if write.new_parent is not None:
                changes.rows.middle_joins(key, write.new_parent)
    at_commit.write(session, session.connection(), changes.rows, show=show)
    remember_plan(session, plan)
    return plan


__all__ = ["CounterChanges", "count_flush", "zero_new_parents"]
