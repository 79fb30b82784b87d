"""The plan's safety net: compare it with the item rows the flush really writes.

``flush_plan`` follows the unit of work's rules to know, before the flush,
what it will write. The mapper events here see every item row as it is
written. If a row was written differently from the plan (a unit-of-work rule
the plan does not know, in some SQLAlchemy version to come), the difference
is counted after the flush, in lock order like everything else, and a warning
names the item: the counters stay exact either way, and the warning says
the plan needs teaching. The test suite fails on that warning.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Connection, inspect
from sqlalchemy.orm import Mapper, Session, object_session

from . import at_commit
from .declaration import CounterSet
from .flush_plan import FlushPlan, ItemWrite
from .rows_written import (
    keep_old_row_before_delete,
    keep_old_row_before_update,
    new_row,
    old_row,
)
from .shares import Share
from .strategy import Listener, counters_of

log = logging.getLogger(__name__)

PLAN = "counters.flush_plan"
SURPRISES = "counters.flush_surprises"


def remember_plan(session: Session, plan: FlushPlan) -> None:
    session.info[PLAN] = plan


def _planned(item: Any) -> tuple[Session | None, ItemWrite | None]:
    session = object_session(item)
    if session is None or PLAN not in session.info:
        return session, None
    return session, session.info[PLAN].items.get(inspect(item))


def _compare(item: Any, planned: ItemWrite | None, written: tuple) -> None:
    """Note a row written otherwise than planned (an unplanned write that moves nothing is fine)."""
    expected: tuple[Share | None, ...] | None = None
    if planned is not None:
        expected = tuple(s.by_id() if s is not None else None for s in (planned.old, planned.new()))
    if expected == written or (expected is None and written[0] == written[1]):
        return
    session = object_session(item)
    if session is not None:
        surprise = (inspect(item).identity, expected or (None, None), written)
        session.info.setdefault(SURPRISES, []).append(surprise)


def _before_update(mapper: Mapper, connection: Connection, item: Any) -> None:
    if _planned(item)[1] is None:
        keep_old_row_before_update(mapper, connection, item)


def _before_delete(mapper: Mapper, connection: Connection, item: Any) -> None:
    if _planned(item)[1] is None:
        keep_old_row_before_delete(mapper, connection, item)


def _inserted(mapper: Mapper, connection: Connection, item: Any) -> None:
    _compare(item, _planned(item)[1], (None, new_row(item)))


def _updated(mapper: Mapper, connection: Connection, item: Any) -> None:
    write = _planned(item)[1]
    old = write.old if write is not None else old_row(item)
    if old is not None:  # None: no counted column changed
        _compare(item, write, (old, new_row(item, unloaded=old)))


def _deleted(mapper: Mapper, connection: Connection, item: Any) -> None:
    write = _planned(item)[1]
    _compare(item, write, (write.old if write is not None else old_row(item), None))


def _after_flush(session: Session, flush_context: Any) -> None:
    """Count what the plan missed, and say so."""
    from .flush_counts import CounterChanges  # the counting core imports this module

    surprises = session.info.pop(SURPRISES, [])
    plan = session.info.pop(PLAN, None)
    if plan is None or not surprises:
        return
    changes = CounterChanges(counters_of(session), session, rows_only=True)  # rows exist now
    for comment_id, (p_old, p_new), (old, new) in surprises:
        log.warning(
            "the counter plan expected item %s to be written as %s -> %s, the flush wrote "
            "%s -> %s; counted what was written",
            comment_id,
            p_old,
            p_new,
            old,
            new,
        )
        changes.count_item(p_new, p_old)  # undo what was planned
        changes.count_item(old, new)  # count what was written
    at_commit.write(session, session.connection(), changes.rows)


def _forget(session: Session, *args: Any) -> None:
    session.info.pop(PLAN, None)
    session.info.pop(SURPRISES, None)


def flush_check(counters: CounterSet) -> tuple[Listener, ...]:
    item = counters.item
    return (
        Listener(item, "before_update", _before_update),
        Listener(item, "before_delete", _before_delete),
        Listener(item, "after_insert", _inserted),
        Listener(item, "after_update", _updated),
        Listener(item, "after_delete", _deleted),
        Listener(Session, "after_flush", _after_flush),
        Listener(Session, "after_soft_rollback", _forget),
    )
