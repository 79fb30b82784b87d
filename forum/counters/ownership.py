"""The counters belong to the strategy: other ORM changes to them are not written.

A strategy changes a persistent parent's counters only with Core (``x = x +
delta``) and ``set_committed_value``, never by making the object dirty. So a
counter that is dirty at flush time was changed by something else:
``session.merge()`` of a detached copy with old numbers, or code assigning to
``thread.word_count``. Writing that value would undo other transactions'
increments; the ``before_update`` listener here puts the loaded value back and
logs a warning. A reconcile with repair is the tool for setting counters.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Mapper, object_session
from sqlalchemy.orm.attributes import get_history

from .declaration import CounterSet
from .strategy import Listener, counters_of

log = logging.getLogger(__name__)


def keep_counters_owned(mapper: Mapper, connection: Connection, target: Any) -> None:
    for name in counters_of(object_session(target)).columns(type(target)):
        history = get_history(target, name)
        if history.added and history.deleted and history.added[0] != history.deleted[0]:
            log.warning(
                "ignoring a change of %s.%s from %s to %s made outside the counter strategy",
                type(target).__name__,
                name,
                history.deleted[0],
                history.added[0],
            )
            setattr(target, name, history.deleted[0])


def owned_counters(counters: CounterSet) -> tuple[Listener, ...]:
    return tuple(Listener(cls, "before_update", keep_counters_owned) for cls in counters.lock_order)
