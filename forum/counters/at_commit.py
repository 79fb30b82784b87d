"""``apply="commit"``: the parents' UPDATEs wait for the commit, to hold hot rows briefly.

By default (``apply="flush"``) a flush writes the parents' counters as it
writes the items, so a hot thread's row is locked from that flush until the
transaction ends: through the item's INSERT, the rest of the flush, and
whatever the request does before it commits. With ``apply="commit"`` a flush
still locks and reads the items it changes, but keeps the parents' changes
(netted, per transaction level) and writes them just before the commit: the
hot row is held for one statement and the commit.

The promise changes with it, and only in this way: until the commit, the
counters in the database (and in a copy loaded from it after the flush) lack
this transaction's changes. Copies the session holds keep showing them. Three
rules keep it exact:

* a flush that moves or deletes a middle parent (a thread) writes everything
  kept so far first, then its own changes at once: a move takes the counts its
  locked row holds, so that row must hold them;
* a savepoint's changes are kept apart: released, they join the enclosing
  level's; rolled back, they are dropped with the rows they counted;
* the commit flushes first, then writes what is kept, in lock order, netted.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session, SessionTransaction

from .copies import copy_in_session
from .history import committed_value
from .parent_writer import ParentUpdates
from .shares import add_into, rolled_up
from .strategy import Listener

#: session.info key: SessionTransaction -> the parents' changes kept for the commit
KEPT = "counters.kept_for_commit"
#: the session-class attribute naming when the parents' UPDATEs are issued
APPLY_ATTRIBUTE = "counter_apply"
APPLY_MODES = ("flush", "commit")


def at_commit(session: Session | None) -> bool:
    return getattr(type(session), APPLY_ATTRIBUTE, "flush") == "commit"


def _level(session: Session) -> SessionTransaction:
    transaction = session.get_nested_transaction() or session.get_transaction()
    assert transaction is not None
    return transaction


def write(
    session: Session | None, connection: Connection, updates: ParentUpdates, *, show: bool = True
) -> None:
    """Write ``updates`` now, or keep them for the commit (and, with ``show``, show them on
    the copies the session holds; ``attribute`` shows them itself)."""
    if session is None or not at_commit(session) or updates.structural:
        if session is not None:
            write_kept(session, connection)
        updates.apply(connection, session)
        return
    kept = session.info.setdefault(KEPT, {})
    level = _level(session)
    if level not in kept:
        kept[level] = ParentUpdates(updates.counters)
    kept[level].merge(updates)
    if show:
        _show(session, updates)


def write_kept(session: Session, connection: Connection | None = None) -> None:
    """Write every change kept so far, of every level, netted, in lock order."""
    kept = session.info.pop(KEPT, None)
    if not kept:
        return
    counters = next(iter(kept.values())).counters
    everything = ParentUpdates(counters)
    for updates in kept.values():
        everything.merge(updates)
    everything.apply(connection or session.connection(), session)


def _show(session: Session, updates: ParentUpdates) -> None:
    """Copies the session holds show the kept changes (set as loaded, never flushed)."""
    from sqlalchemy import inspect
    from sqlalchemy.orm.attributes import set_committed_value

    counters = updates.counters
    edge = counters.middle_edge
    shown: dict[tuple[type, Any], dict[str, int]] = {}
    for cls, rows in updates.deltas.items():
        for key, delta in rows.items():
            add_into(shown.setdefault((cls, key), {}), delta)
            if edge is not None and cls is edge.child:
                middle = copy_in_session(session, cls, key)
                if middle is not None and edge.key in inspect(middle).dict:
                    parent = committed_value(middle, edge.key)
                    add_into(
                        shown.setdefault((edge.parent, parent), {}), rolled_up(counters, delta)
                    )
    for (cls, key), delta in shown.items():
        copy = copy_in_session(session, cls, key) if key is not None else None
        if copy is None:
            continue
        loaded = inspect(copy).dict
        for name, value in delta.items():
            if value and name in loaded:
                set_committed_value(copy, name, loaded[name] + value)


def _before_commit(session: Session) -> None:
    if not at_commit(session):
        return
    session.flush()  # the commit's own flush comes after this event: run it first
    kept = session.info.get(KEPT)
    if not kept:
        return
    nested = session.get_nested_transaction()
    if nested is not None:  # a savepoint released: its changes join the enclosing level's
        updates = kept.pop(nested, None)
        if updates is not None and nested.parent is not None:
            if nested.parent not in kept:
                kept[nested.parent] = ParentUpdates(updates.counters)
            kept[nested.parent].merge(updates)
        return
    write_kept(session)


def _after_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    """Rolled back: the changes of the levels that ended go with their rows."""
    kept = session.info.get(KEPT)
    if kept:
        for level in [t for t in kept if not t.is_active or t is previous_transaction]:
            del kept[level]


def kept_for_commit(counters: Any) -> tuple[Listener, ...]:
    return (
        Listener(Session, "before_commit", _before_commit),
        Listener(Session, "after_soft_rollback", _after_rollback),
    )
