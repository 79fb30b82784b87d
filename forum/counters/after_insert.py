"""Strategy ``after_insert``: a Core UPDATE from the mapper's flush events.

As each item row (a comment) is inserted, updated or deleted, the mapper's
``after_insert`` / ``after_update`` / ``after_delete`` listener issues
``UPDATE threads SET word_count = word_count + :delta ...`` (and the board's,
and the author's) on the flush's own connection, so the counter changes in the
same transaction as the row. What left which parent is read in
``before_update`` and ``before_delete``, while the row still holds it
(``rows_written``). Middle parents (threads) do the same for their own parents
(``after_insert``, and ``before_update`` when moved or ``before_delete``,
while the row still names its board).

Counting the rows as they are written makes this strategy follow whatever
the unit of work decides (cancelled deletes, orphans, the relationship
winning over the key) without having to predict it.

One set of UPDATEs per changed item: simple and local, but a flush of a
hundred comments to one thread issues a hundred pairs (``before_flush`` nets
them into one). Within one item the rows are locked in the declaration's lock
order; across several items they are locked in the order the flush writes the
items, so two transactions that each write several threads in
opposite orders can deadlock; PostgreSQL detects it and the request is
retried.

Cannot see: changes that do not pass through the session (Core or raw SQL);
ORM bulk statements are refused (``bulk_guard``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Mapper, Session, object_session

from . import at_commit
from .bulk_guard import guards
from .copies import bookkeeping, start_at_zero
from .declaration import CounterSet
from .history import changed
from .ownership import owned_counters
from .parent_writer import ParentUpdates
from .rows_written import (
    forget,
    keep_old_row_before_delete,
    keep_old_row_before_update,
    new_row,
    old_row,
    refused_if_gone,
)
from .shares import Share, membership, row_id, share_change
from .strategy import CounterStrategy, Listener, counters_of


def _write(connection: Connection, item: Any, old: Share | None, new: Share | None) -> None:
    session = object_session(item)
    counters = counters_of(session)
    updates = ParentUpdates(counters)
    for edge, parent, change in share_change(counters, old, new):
        updates.add(edge.parent, parent, change)  # rows are written: every parent has its key
    if updates:
        at_commit.write(session, connection, updates)


def item_inserted(mapper: Mapper, connection: Connection, item: Any) -> None:
    _write(connection, item, None, new_row(item))


def item_updated(mapper: Mapper, connection: Connection, item: Any) -> None:
    old = old_row(item)
    if old is not None:  # None: neither its parents nor its weighed values changed
        _write(connection, item, old, new_row(item, unloaded=old))


def item_deleted(mapper: Mapper, connection: Connection, item: Any) -> None:
    _write(connection, item, old_row(item), None)


def new_parent_starts_at_zero(mapper: Mapper, connection: Connection, target: Any) -> None:
    """A new parent's counters belong to the strategy, not to its constructor: its
    children add themselves as their rows are inserted."""
    start_at_zero(target, counters_of(object_session(target)).columns(type(target)))


def middle_inserted(mapper: Mapper, connection: Connection, middle: Any) -> None:
    session = object_session(middle)
    counters = counters_of(session)
    edge = counters.middle_edge
    assert edge is not None
    updates = ParentUpdates(counters)
    values = {name: getattr(middle, name) for name in counters.columns(edge.child)}
    updates.add(edge.parent, getattr(middle, edge.key), membership(counters, values))
    at_commit.write(session, connection, updates)


def middle_moving(mapper: Mapper, connection: Connection, middle: Any) -> None:
    # Before the UPDATE: the middle row leaves the parent its locked row names (the
    # forum's threads then check "WHERE board_id = <loaded>", their version).
    session = object_session(middle)
    counters = counters_of(session)
    edge = counters.middle_edge
    assert edge is not None
    with refused_if_gone(middle):
        if not changed(middle, edge.key):
            return
        updates = ParentUpdates(counters)
        key = row_id(middle)  # persistent: its key is known without a load
        updates.middle_leaves(key)
        updates.middle_joins(key, getattr(middle, edge.key))
    at_commit.write(session, connection, updates)


def middle_deleting(mapper: Mapper, connection: Connection, middle: Any) -> None:
    # Before the DELETE: the row (its parent, and the counts it holds now) still
    # exists, and is read under a lock.
    session = object_session(middle)
    updates = ParentUpdates(counters_of(session))
    key = row_id(middle)  # a load here would find the row gone when it already is
    updates.middle_leaves(key)
    # The items the ORM deleted or moved are written (and counted) already.
    updates.middle_deleted(key)
    at_commit.write(session, connection, updates)


def build(counters: CounterSet) -> CounterStrategy:
    item = counters.item
    middles: tuple[Listener, ...] = ()
    if counters.middle_edge is not None:
        middle = counters.middle_edge.child
        middles = (
            Listener(middle, "after_insert", middle_inserted),
            Listener(middle, "before_update", middle_moving),
            Listener(middle, "before_delete", middle_deleting),
        )
    return CounterStrategy(
        name="after_insert",
        counters=counters,
        listeners=(
            *guards(),
            Listener(item, "before_update", keep_old_row_before_update),
            Listener(item, "before_delete", keep_old_row_before_delete),
            Listener(item, "after_insert", item_inserted),
            Listener(item, "after_update", item_updated),
            Listener(item, "after_delete", item_deleted),
            *(
                Listener(cls, "before_insert", new_parent_starts_at_zero)
                for cls in counters.lock_order
            ),
            *middles,
            Listener(Session, "after_flush_postexec", forget),
            Listener(Session, "after_soft_rollback", forget),
            *at_commit.kept_for_commit(counters),
            *owned_counters(counters),
            *bookkeeping(counters),
        ),
    )
