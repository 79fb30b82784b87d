"""Reading an object's committed (last flushed or loaded) values from attribute history."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm.attributes import PASSIVE_NO_INITIALIZE, get_history


def committed_value(obj: object, key: str) -> Any:
    """The value ``key`` had when ``obj`` was last loaded or flushed (None if never)."""
    history = get_history(obj, key)
    if history.deleted:
        return history.deleted[0]
    if history.unchanged:
        return history.unchanged[0]
    return None


def changed(obj: object, key: str) -> bool:
    """True when ``key`` was given a value different from its committed one.

    Loads nothing: a relationship that was never loaded has no history to read.
    """
    history = get_history(obj, key, passive=PASSIVE_NO_INITIALIZE)
    return bool(history.added or history.deleted)
