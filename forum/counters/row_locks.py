"""Lock the item rows a flush will change, refuse stale copies, and read what they hold.

The ``attribute`` and ``before_flush`` strategies write the parents' counters
before the flush writes the items. So, first, the item rows the flush will
update or delete are locked (``SELECT ... FOR UPDATE``, in id order) and,
when the item class has a version column, their versions compared with the
ones this session loaded: an item another transaction changed or deleted
since raises StaleDataError, and the request is retried from fresh rows,
before any counter moves.

The same statement returns each row's parents and, where the session does not
hold a committed weighed value (expired, ``load_only``, ``refresh`` of other
columns), that value: the old side of every change is what the row holds,
never a guess from a partially loaded object.

An item this transaction already read ``FOR UPDATE`` (as the forum's JSON API
and pages do before changing a comment) needs none of that: its row is locked
and its loaded values are the row's, so no statement is issued for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Mapper, Session
from sqlalchemy.orm.attributes import PASSIVE_NO_INITIALIZE, get_history
from sqlalchemy.orm.exc import StaleDataError

from .declaration import CounterSet, primary_key
from .flush_plan import ItemWrite
from .history import committed_value
from .shares import Share, row_id
from .strategy import Listener

_UNKNOWN = object()

#: session.info key: items read FOR UPDATE in this transaction
LOCKED = "counters.items_locked"


def remember_locked(item: Any, context: Any, *attrs: Any) -> None:
    """Item ``load``/``refresh``: note a row read ``FOR UPDATE`` (not FOR SHARE)."""
    # ``context`` is None, or has no statement, for copies made by merge() and the like.
    lock = getattr(getattr(context, "query", None), "_for_update_arg", None)
    session = getattr(context, "session", None)
    if lock is not None and not lock.read and not lock.key_share and session is not None:
        session.info.setdefault(LOCKED, set()).add(inspect(item))


def _forget_after_commit(session: Session) -> None:
    if not session.in_nested_transaction():  # a released savepoint keeps its locks
        session.info.pop(LOCKED, None)


def _forget_after_rollback(session: Session, previous_transaction: Any) -> None:
    session.info.pop(LOCKED, None)  # conservative: lock again next time


def _loaded_committed(obj: Any, key: str) -> object:
    """``key`` as last loaded or flushed, or _UNKNOWN when the session does not hold it."""
    history = get_history(obj, key, passive=PASSIVE_NO_INITIALIZE)
    if history.deleted:
        return history.deleted[0]
    if history.unchanged:
        return history.unchanged[0]
    return _UNKNOWN


def _already_locked(counters: CounterSet, session: Session, write: ItemWrite) -> Share | None:
    """The old share of an item read FOR UPDATE in this transaction, from loaded values."""
    if inspect(write.item) not in session.info.get(LOCKED, ()):
        return None
    parents = [_loaded_committed(write.item, e.key) for e in counters.item_edges]
    values = [_loaded_committed(write.item, w.source.key) for w in counters.weighed]  # type: ignore[union-attr]
    if _UNKNOWN in (*parents, *values):
        return None
    return Share(tuple(parents), counters.weights(values))


def lock_and_read(counters: CounterSet, session: Session, writes: Iterable[ItemWrite]) -> None:
    """Lock the rows of the UPDATEs and DELETEs in ``writes`` and fill in their ``old``."""
    targets = {}
    for write in writes:
        if write.old is not None or inspect(write.item).key is None:
            continue
        write.old = _already_locked(counters, session, write)
        if write.old is None:  # keyed without loading: the copy may be expired
            targets[row_id(write.item)] = write
    if not targets:
        return
    pk = primary_key(counters.item)
    mapper: Mapper[Any] = inspect(counters.item)
    version = mapper.version_id_col
    sources = [w.source.key for w in counters.weighed]  # type: ignore[union-attr]
    loaded = {
        key: [_loaded_committed(w.item, name) for name in sources] for key, w in targets.items()
    }
    unknown = {i for values in loaded.values() for i, v in enumerate(values) if v is _UNKNOWN}
    columns: list[Any] = [pk, *(e.fk for e in counters.item_edges)]
    columns += [mapper.get_property(sources[i]).columns[0] for i in sorted(unknown)]
    if version is not None:
        columns.append(version)
    rows = {
        row[0]: row
        for row in session.connection().execute(
            select(*columns).where(pk.in_(sorted(targets))).order_by(pk).with_for_update()
        )
    }
    n_edges = len(counters.item_edges)
    for key, write in targets.items():
        row = rows.get(key)
        stale = row is None or (
            version is not None
            and row[-1] != committed_value(write.item, mapper.get_property_by_column(version).key)
        )
        if stale:
            raise StaleDataError(
                f"{counters.item.__name__} {key} was changed or deleted by another "
                "transaction after this session loaded it"
            )
        assert row is not None
        read = dict(zip(sorted(unknown), row[1 + n_edges :], strict=False))
        values = [read[i] if v is _UNKNOWN else v for i, v in enumerate(loaded[key])]
        write.old = Share(tuple(row[1 : 1 + n_edges]), counters.weights(values))


def lock_tracking(counters: CounterSet) -> tuple[Listener, ...]:
    return (
        Listener(counters.item, "load", remember_locked),
        Listener(counters.item, "refresh", remember_locked),
        Listener(Session, "after_commit", _forget_after_commit),
        Listener(Session, "after_soft_rollback", _forget_after_rollback),
    )
