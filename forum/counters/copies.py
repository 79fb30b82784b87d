"""Keeping the session's in-memory copies of the counted parents right.

When a strategy writes a counter with Core (``UPDATE ... RETURNING``), the
session's copy of that row is given the returned values with
``set_committed_value``, so the request that made the change reads them
without another SELECT. Four details make that exact:

* a row inserted earlier in the same flush is not in the identity map yet:
  the listeners here remember inserted parents for the flush;
* a parent named only by its key may still be pending in the session (a
  thread created in this transaction): ``new_object`` finds it;
* a copy refreshed (or loaded) inside a SAVEPOINT that is then rolled back
  must not keep the rolled-back value: every loaded parent's counters are
  expired after any rollback;
* a parent detached and then added back may carry counters its row no
  longer holds: they are expired as it returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, inspect
from sqlalchemy.orm import Mapper, Session, SessionTransaction, object_session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from .declaration import CounterSet
from .shares import is_new, row_id
from .strategy import Listener, counters_of

INSERTED = "counters.inserted_parents"

__all__ = ["is_new", "row_id"]


def new_object(session: Session, cls: type, pk: Any) -> Any:
    """The pending (not yet inserted) ``cls`` object with primary key ``pk``, if any."""
    if pk is None:
        return None
    for obj in session.new:
        if isinstance(obj, cls) and row_id(obj) == pk:
            return obj
    return None


def start_at_zero(obj: Any, names: tuple[str, ...]) -> None:
    """A new parent's counters start at 0 (and go into its INSERT), whatever it was given.

    Set without reading the old value: the counters have active_history, and a new
    object whose counters are not in memory (one that came back after a rollback) has
    no row to load them from.
    """
    state = inspect(obj)
    for name in names:
        if name in state.dict:
            setattr(obj, name, 0)
        else:
            set_committed_value(obj, name, 0)


def copy_in_session(session: Session | None, cls: type, pk: Any) -> Any:
    """The session's object for row ``pk`` of ``cls``: inserted in this flush, or loaded."""
    if session is None:
        return None
    inserted = session.info.get(INSERTED, {}).get((cls, pk))
    if inserted is not None:
        return inserted
    return session.identity_map.get(identity_key(cls, pk))


def refresh_copy(
    session: Session | None,
    counters: CounterSet,
    cls: type,
    pk: Any,
    values: Mapping[str, Any],
) -> None:
    """Give the session's copy of the row (if it has one) the counter values just written."""
    copy = copy_in_session(session, cls, pk)
    if copy is None:
        return
    for name in counters.columns(cls):
        if name in values:
            set_committed_value(copy, name, values[name])


def _remember_inserted(mapper: Mapper, connection: Connection, target: Any) -> None:
    session = object_session(target)
    if session is not None:
        session.info.setdefault(INSERTED, {})[(type(target), row_id(target))] = target


def _forget_inserted(session: Session, flush_context: Any) -> None:
    session.info.pop(INSERTED, None)


def _expire_counters(session: Session, previous_transaction: SessionTransaction) -> None:
    """After a rollback (of a savepoint too), no loaded counter can be trusted: ours were
    set by hand, and any copy loaded inside the rolled-back part saw its UPDATEs. So every
    loaded parent's counters are read again (this touches the session's objects, never a
    parent's children)."""
    parents = counters_of(session).parents
    for obj in list(session.identity_map.values()):
        names = parents.get(type(obj))
        state = inspect(obj)
        if names and state.key and not state.deleted and any(n in state.dict for n in names):
            session.expire(obj, list(names))


def _reread_returning_parent(session: Session, obj: object) -> None:
    """A parent added back after being detached carries the counters it had then: other
    writes (or a rollback) may have changed its row since. Read them again."""
    names = counters_of(session).parents.get(type(obj))
    if names:
        session.expire(obj, list(names))


def bookkeeping(counters: CounterSet) -> tuple[Listener, ...]:
    return (
        *(Listener(cls, "after_insert", _remember_inserted) for cls in counters.lock_order),
        Listener(Session, "after_flush_postexec", _forget_inserted),
        Listener(Session, "after_soft_rollback", _expire_counters),
        Listener(Session, "detached_to_persistent", _reread_returning_parent),
    )
