"""Reading an object's committed (last flushed or loaded) values from attribute history."""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect
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


def set_changes_relationship(obj: object, key: str, value: Any) -> bool:
    """Will setting the many-to-one ``key`` to ``value`` (in its ``set`` event, before the
    value is applied) leave a net change that the flush copies into the foreign key?

    Not when ``value`` is the parent it already had, known to the session: the
    relationship then has no history, and a change made to the key itself stands (the
    relationship wins over its key only when it changed). When the old parent was never
    loaded, SQLAlchemy cannot compare, and records ``value`` as a change.
    """
    state = inspect(obj)
    if key in state.committed_state:
        original = state.committed_state[key]
    elif key in state.dict:
        original = state.dict[key]
    else:
        return True
    return value is not original
