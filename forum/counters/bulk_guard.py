"""Refuse the ORM writes that would change counted rows behind the counters' back.

Three kinds of call write rows without the flush seeing each one:

* ORM bulk statements, ``session.execute(update(Comment)...)`` and kin;
* the legacy bulk methods, ``bulk_save_objects``, ``bulk_insert_mappings`` and
  ``bulk_update_mappings``, which fire no event at all (so the session class
  every factory with counters gets, ``GuardedSession``, refuses them itself);
* ``session.flush([objects])`` (deprecated), which writes some of the pending
  changes while the strategies would count all of them.

Rather than guess, each is refused with an error that says what to do. A
caller that keeps the counters itself (and runs a reconcile with repair
afterwards) can pass ``execution_options(counters="caller")`` to a bulk
statement. Core statements on the tables and raw SQL are not ORM statements
and are not seen here; ``reconcile.reconcile(..., fix=True)`` repairs what they
do.

The classes whose rows move counters (the item, the middle parent) are refused
outright; the other parents may be bulk-written as long as their counters are
left alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlalchemy.sql.elements import BindParameter, ClauseElement

from .declaration import CounterSet
from .strategy import Listener, strategy_of

ADVICE = (
    "would bypass the counter strategy and leave the counters wrong. Load the objects "
    "and change them through the session instead, or pass "
    "execution_options(counters='caller') to a bulk statement and reconcile the counters "
    "afterwards (forum-reconcile --fix)."
)


def _owned(counters: CounterSet) -> dict[type, tuple[str, ...]]:
    """Classes that may be bulk-written as long as their counters are left alone."""
    return {cls: names for cls, names in counters.parents.items() if cls not in counters.children}


class CounterBypassError(InvalidRequestError):
    """An ORM write would change comments or threads behind the counters' back."""


def refuse_bulk_writes(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    if not state.is_orm_statement or state.execution_options.get("counters") == "caller":
        return
    mapper = state.bind_mapper
    counters = _counters(state.session)
    if counters is None:
        return
    verb = "INSERT" if state.is_insert else "UPDATE" if state.is_update else "DELETE"
    if mapper is not None and issubclass(mapper.class_, counters.children):
        raise CounterBypassError(f"ORM bulk {verb} on {mapper.class_.__name__} {ADVICE}")
    owned = _owned(counters).get(mapper.class_) if mapper is not None else None
    if mapper is not None and owned and _sets_counters(state, owned):
        raise CounterBypassError(f"ORM bulk {verb} of {mapper.class_.__name__} counters {ADVICE}")


def _sets_counters(state: ORMExecuteState, counters: tuple[str, ...]) -> bool:
    """A board or user may be bulk-written, but not its counters (they belong to the
    strategy)."""
    rows: list[Any] = []
    values = getattr(state.statement, "_values", None) or {}
    rows.append({getattr(k, "key", k): v for k, v in values.items()})
    params = state.parameters
    rows += params if isinstance(params, list) else [params or {}]
    return _rows_set_counters(rows, counters, inserting=bool(state.is_insert))


def _rows_set_counters(rows: Iterable[Any], counters: tuple[str, ...], *, inserting: bool) -> bool:
    """Rows (mappings) that write a counter: any value on an UPDATE, a non-zero one on an
    INSERT (a new row starts at zero anyway)."""
    for row in rows:
        for name in counters:
            if name in row and (not inserting or _nonzero(row[name])):
                return True
    return False


def _nonzero(value: Any) -> bool:
    if isinstance(value, BindParameter):
        value = value.value
    return True if isinstance(value, ClauseElement) else bool(value)


def refuse_partial_flush(session: Session, flush_context: UOWTransaction, instances: Any) -> None:
    if instances:
        raise CounterBypassError(
            "session.flush(objects) writes only some of the pending changes, and the counter "
            "strategies count the session as a whole: call session.flush() with no argument."
        )


def _counters(session: Session) -> CounterSet | None:
    strategy = strategy_of(session)
    return strategy.counters if strategy is not None else None


def _refuse_legacy(
    session: Session, method: str, mapper_or_objects: Any, mappings: Any = ()
) -> None:
    counters = _counters(session)
    if counters is None:
        return
    owned = _owned(counters)
    if isinstance(mapper_or_objects, type):
        classes = {mapper_or_objects}
    elif hasattr(mapper_or_objects, "class_"):
        classes = {mapper_or_objects.class_}
    else:
        classes = {type(obj) for obj in mapper_or_objects}
        # What bulk_save_objects would write of the counters: a new row's non-zero ones,
        # a persistent row's changed ones.
        mappings = [
            {n: 1 for n in owned[type(obj)] if _written(obj, n)}
            for obj in mapper_or_objects
            if type(obj) in owned
        ]
    for cls in classes:
        if issubclass(cls, counters.children):
            raise CounterBypassError(f"Session.{method}() on {cls.__name__} {ADVICE}")
        if cls in owned and _rows_set_counters(
            list(mappings), owned[cls], inserting=method == "bulk_insert_mappings"
        ):
            raise CounterBypassError(f"Session.{method}() of {cls.__name__} counters {ADVICE}")


def _written(obj: Any, name: str) -> bool:
    state = inspect(obj)
    if state.key is None:
        return bool(state.dict.get(name))
    return name in state.committed_state


#: Every ``session.info`` key the counters keep their per-transaction bookkeeping under.
BOOKKEEPING_PREFIX = "counters."


class GuardedSession(Session):
    """The session class ``install`` gives a session factory: it refuses the legacy bulk
    methods for counted rows (they fire no event; other classes pass through), and
    forgets the counters' bookkeeping when it is closed or reset (the session has no
    event for that, and a closed session that is used again must not show a change it
    threw away)."""

    def close(self) -> None:
        super().close()
        _forget_bookkeeping(self)

    def reset(self) -> None:
        super().reset()
        _forget_bookkeeping(self)

    def bulk_save_objects(self, objects: Iterable[object], *args: Any, **kw: Any) -> None:
        objects = list(objects)
        _refuse_legacy(self, "bulk_save_objects", objects)
        super().bulk_save_objects(objects, *args, **kw)

    def bulk_insert_mappings(self, mapper: Any, mappings: Any, *args: Any, **kw: Any) -> None:
        mappings = list(mappings)
        _refuse_legacy(self, "bulk_insert_mappings", inspect(mapper), mappings)
        super().bulk_insert_mappings(mapper, mappings, *args, **kw)

    def bulk_update_mappings(self, mapper: Any, mappings: Any) -> None:
        mappings = list(mappings)
        _refuse_legacy(self, "bulk_update_mappings", inspect(mapper), mappings)
        super().bulk_update_mappings(mapper, mappings)


def _forget_bookkeeping(session: Session) -> None:
    for key in [k for k in session.info if str(k).startswith(BOOKKEEPING_PREFIX)]:
        del session.info[key]


def guards() -> tuple[Listener, ...]:
    # ``Session`` here means "the session class the strategy is installed on" (strategy.py).
    return (
        Listener(Session, "do_orm_execute", refuse_bulk_writes),
        Listener(Session, "before_flush", refuse_partial_flush),
    )
