"""What an item row write really changed, read in the mapper's flush events.

``before_update`` and ``before_delete`` run while the row still holds its old
parents and weighed values; they keep that old share (loading a value first
if this copy never had it, e.g. after ``load_only`` or a partial expire), so
``after_update`` and ``after_delete`` know exactly what left which parent.
The ``after_insert`` strategy counts from these; ``flush_check`` compares the
other two strategies' plans with them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, inspect
from sqlalchemy.orm import Mapper, object_session
from sqlalchemy.orm.exc import ObjectDeletedError, StaleDataError
from sqlalchemy.orm.state import InstanceState

from .history import changed, committed_value
from .shares import Share
from .strategy import counters_of

OLD_ROWS = "counters.item_old_rows"


def _old_rows(item: Any) -> dict[InstanceState, Share]:
    session = object_session(item)
    return session.info.setdefault(OLD_ROWS, {}) if session is not None else {}


def _sources(item: Any) -> list[str]:
    return [w.source.key for w in counters_of(object_session(item)).weighed]  # type: ignore[union-attr]


def counted_change(item: Any) -> bool:
    """Does this UPDATE change one of the item's parents or weighed values?"""
    counters = counters_of(object_session(item))
    return any(changed(item, key) for key in counters.tracked(counters.item))


@contextmanager
def refused_if_gone(obj: Any) -> Iterator[None]:
    """A read inside the flush that finds the row gone refuses the flush as the other
    strategies do (``row_locks``): StaleDataError, before any counter moves."""
    try:
        yield
    except ObjectDeletedError as gone:
        raise StaleDataError(
            f"{type(obj).__name__} {inspect(obj).identity} is written by this flush "
            "but its row is gone (deleted before, by this session or another)"
        ) from gone


def _keep(item: Any) -> None:
    counters = counters_of(object_session(item))
    with refused_if_gone(item):
        _old_rows(item)[inspect(item)] = Share(
            tuple(committed_value(item, e.key) for e in counters.item_edges),
            counters.weights(committed_value(item, key) for key in _sources(item)),
        )


def keep_old_row_before_update(mapper: Mapper, connection: Connection, item: Any) -> None:
    """The row is about to move or change weight: remember what it holds now."""
    if counted_change(item):
        _keep(item)


def keep_old_row_before_delete(mapper: Mapper, connection: Connection, item: Any) -> None:
    _keep(item)


def old_row(item: Any) -> Share | None:
    """The share kept by ``keep_old_row`` for this write (and forgotten)."""
    return _old_rows(item).pop(inspect(item), None)


def new_row(item: Any, unloaded: Share | None = None) -> Share:
    """The share the row holds after the INSERT or UPDATE just written.

    ``unloaded``: the share to take a weight from when this copy does not hold
    the weighed value (it did not change, and the caller already knows it).
    """
    counters = counters_of(object_session(item))
    weights = []
    for i, weighed in enumerate(counters.weighed):
        key = weighed.source.key  # type: ignore[union-attr]
        if key not in item.__dict__ and unloaded is not None:
            weights.append(unloaded.weights[i])
        else:
            weights.append(weighed.amount(getattr(item, key)))
    return Share(tuple(getattr(item, e.key) for e in counters.item_edges), tuple(weights))


def forget(session: Any, *args: Any) -> None:
    session.info.pop(OLD_ROWS, None)
