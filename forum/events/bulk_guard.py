"""Refuse the ORM writes that would change comments or threads behind the counters' back.

Three kinds of call write rows without the flush seeing each one:

* ORM bulk statements, ``session.execute(update(Comment)...)`` and kin;
* the legacy bulk methods, ``bulk_save_objects``, ``bulk_insert_mappings`` and
  ``bulk_update_mappings``, which fire no event at all (so the session class
  every factory with counters gets, ``GuardedSession``, refuses them itself);
* ``session.flush([objects])`` (deprecated), which writes some of the pending
  changes while the strategies would count all of them.

Rather than guess, each is refused with an error that says what to do. A
caller that keeps the counters itself (and runs ``forum-reconcile``
afterwards) can pass ``execution_options(counters="caller")`` to a bulk
statement. Core statements on the tables and raw SQL are not ORM statements
and are not seen here; ``forum-reconcile`` repairs what they do.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from ..models import Comment, Thread
from .strategy import Listener

GUARDED = (Comment, Thread)

ADVICE = (
    "would bypass the counter strategy and leave threads.word_count/comment_count and "
    "boards.* wrong. Load the objects and change them through the session instead, or "
    "pass execution_options(counters='caller') to a bulk statement and run "
    "forum-reconcile --fix afterwards."
)


class CounterBypassError(InvalidRequestError):
    """An ORM write would change comments or threads behind the counters' back."""


def refuse_bulk_writes(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    if not state.is_orm_statement or state.execution_options.get("counters") == "caller":
        return
    mapper = state.bind_mapper
    if mapper is not None and issubclass(mapper.class_, GUARDED):
        verb = "INSERT" if state.is_insert else "UPDATE" if state.is_update else "DELETE"
        raise CounterBypassError(f"ORM bulk {verb} on {mapper.class_.__name__} {ADVICE}")


def refuse_partial_flush(session: Session, flush_context: UOWTransaction, instances: Any) -> None:
    if instances:
        raise CounterBypassError(
            "session.flush(objects) writes only some of the pending changes, and the counter "
            "strategies count the session as a whole: call session.flush() with no argument."
        )


def _refuse_legacy(method: str, mapper_or_objects: Any) -> None:
    if isinstance(mapper_or_objects, type):
        classes = {mapper_or_objects}
    elif hasattr(mapper_or_objects, "class_"):
        classes = {mapper_or_objects.class_}
    else:
        classes = {type(obj) for obj in mapper_or_objects}
    for cls in classes:
        if issubclass(cls, GUARDED):
            raise CounterBypassError(f"Session.{method}() on {cls.__name__} {ADVICE}")


class GuardedSession(Session):
    """A session class that refuses the legacy bulk methods for comments and threads
    (they fire no event); other classes pass through. ``forum.events.install`` gives
    a session factory this class."""

    def bulk_save_objects(self, objects: Iterable[object], *args: Any, **kw: Any) -> None:
        objects = list(objects)
        _refuse_legacy("bulk_save_objects", objects)
        super().bulk_save_objects(objects, *args, **kw)

    def bulk_insert_mappings(self, mapper: Any, *args: Any, **kw: Any) -> None:
        _refuse_legacy("bulk_insert_mappings", inspect(mapper))
        super().bulk_insert_mappings(mapper, *args, **kw)

    def bulk_update_mappings(self, mapper: Any, *args: Any, **kw: Any) -> None:
        _refuse_legacy("bulk_update_mappings", inspect(mapper))
        super().bulk_update_mappings(mapper, *args, **kw)


REFUSE_BULK_WRITES = Listener(Session, "do_orm_execute", refuse_bulk_writes)
# ``Session`` here means "the session class the strategy is installed on" (strategy.py).
GUARDS = (REFUSE_BULK_WRITES, Listener(Session, "before_flush", refuse_partial_flush))
