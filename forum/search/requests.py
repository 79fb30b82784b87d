"""Asking for a search refresh: only when searchable text changed, only after commit.

Every mapped class that declares ``__searchable__`` (``forum.models.searchable``)
gets these flush listeners when this module is imported: the models declare
what feeds the search view and know nothing of how it is refreshed. They mark
the session only when a column in the model's ``__searchable__`` really
changed (a title, a message, a comment's thread, an insert or a delete),
never for counter updates. Then, for a marked session:

* just before it commits, the session bumps ``search_refresh_state.generation``
  inside the writing transaction (so the request survives any crash: the
  refresher compares generations);
* after the commit succeeds (the transaction's after-commit hook, called with
  its success flag; or SQLAlchemy's ``after_commit`` for a session without a
  transaction manager), the active runner is asked for a refresh. A rolled-back
  transaction asks for nothing.

With the ``live`` form no runner is active and all of this is skipped.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, event, update
from sqlalchemy.orm import Mapper, Session, object_session

from ..counters.history import changed
from ..models import Base
from ..models.search_state import SearchRefreshState
from .runners import RefreshRunner

DIRTY = "forum.search_dirty"
#: Where forum.models.get_tm_session puts the session's transaction manager.
TRANSACTION_MANAGER = "transaction_manager"

_runner: RefreshRunner | None = None


def use(runner: RefreshRunner | None) -> None:
    """Make ``runner`` receive refresh requests (None: the live form, no requests)."""
    global _runner
    _runner = runner


def active_runner() -> RefreshRunner | None:
    return _runner


def listen_for_changes(cls: type) -> None:
    """Ask for a refresh when a row of ``cls`` is written with a searchable change."""
    event.listen(cls, "after_insert", _row_written)
    event.listen(cls, "after_delete", _row_written)
    event.listen(cls, "after_update", _row_updated)


def searchable_classes() -> list[type]:
    """The mapped classes whose text feeds the search view."""
    return [m.class_ for m in Base.registry.mappers if getattr(m.class_, "__searchable__", ())]


def _row_written(mapper: Mapper, connection: Connection, target: Any) -> None:
    if _runner is not None:
        _mark(object_session(target))


def _row_updated(mapper: Mapper, connection: Connection, target: Any) -> None:
    if _runner is not None and any(changed(target, name) for name in target.__searchable__):
        _mark(object_session(target))


def _mark(session: Session | None) -> None:
    if session is None or session.info.get(DIRTY):
        return
    manager = session.info.get(TRANSACTION_MANAGER)
    if manager is not None:
        manager.get().addAfterCommitHook(_after_commit_hook, args=(_runner,))
        session.info[DIRTY] = "hook"
    else:
        session.info[DIRTY] = "event"


def _after_commit_hook(success: bool, runner: RefreshRunner) -> None:
    if success:
        runner.request()


@event.listens_for(Session, "before_commit")
def _bump_generation(session: Session) -> None:
    if _runner is None:
        return
    # Session.commit() fires this before its own final flush: flush first, so a
    # change made just before commit() has marked the session by now.
    if session.new or session.dirty or session.deleted:
        session.flush()
    if session.info.get(DIRTY):
        session.connection().execute(
            update(SearchRefreshState)
            .where(SearchRefreshState.id == 1)
            .values(generation=SearchRefreshState.generation + 1)
        )


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    how = session.info.pop(DIRTY, None)
    if how == "event" and _runner is not None:
        _runner.request()


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(DIRTY, None)


for _cls in searchable_classes():
    listen_for_changes(_cls)
