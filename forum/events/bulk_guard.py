"""Refuse ORM bulk INSERT/UPDATE/DELETE statements on comments and threads.

``session.execute(update(Comment)...)`` and its kin write rows without loading
them, so no attribute or flush event sees the change and every strategy would
let the counters drift. Rather than guess, the session refuses them with an
error that says what to do. A caller that keeps the counters itself (and runs
``forum-reconcile`` afterwards) can pass ``execution_options(counters="caller")``.
Core statements on the tables and raw SQL are not ORM statements and are not
seen here; ``forum-reconcile`` repairs what they do.
"""

from __future__ import annotations

from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import ORMExecuteState, Session

from ..models import Comment, Thread
from .strategy import Listener

GUARDED = (Comment, Thread)


class CounterBypassError(InvalidRequestError):
    """An ORM bulk statement would change comments or threads behind the counters' back."""


def refuse_bulk_writes(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    if not state.is_orm_statement or state.execution_options.get("counters") == "caller":
        return
    mapper = state.bind_mapper
    if mapper is not None and issubclass(mapper.class_, GUARDED):
        verb = "INSERT" if state.is_insert else "UPDATE" if state.is_update else "DELETE"
        raise CounterBypassError(
            f"ORM bulk {verb} on {mapper.class_.__name__} would bypass the counter strategy "
            "and leave threads.word_count/comment_count and boards.* wrong. Load the objects "
            "and change them through the session instead, or pass "
            "execution_options(counters='caller') and run forum-reconcile --fix afterwards."
        )


REFUSE_BULK_WRITES = Listener(Session, "do_orm_execute", refuse_bulk_writes)
