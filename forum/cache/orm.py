"""Cached ORM results: SQLAlchemy's ``do_orm_execute`` hook with a cache request.

A read asks for caching with an execution option (``from_cache(scope, name)``);
execution options are not part of SQLAlchemy's compiled-statement cache key,
so one compiled statement serves every thread. On a session that serves from
the cache (a GET request's, ``serve_from``) the hook answers the statement
from the cache, or runs it and stores its frozen result. Either way the rows
are merged into the asking session with ``load=False``: the objects it gets
are its own, never ones attached to another session, and nothing is
re-queried. Any other session (a write request's, a script's) runs the
statement as usual, so nothing is ever written from a cached copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Result
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker
from sqlalchemy.orm.loading import merge_frozen_result

from .store import Cache

#: The execution option a cacheable read carries.
OPTION = "forum_cache"
#: Where a session that serves reads from the cache keeps it (``Session.info``).
SESSION_KEY = "forum.cache"


@dataclass(frozen=True)
class FromCache:
    scope: str
    name: str


def from_cache(scope: str, name: str) -> dict[str, Any]:
    """Execution options asking for this read to be cached as ``name`` under ``scope``."""
    return {OPTION: FromCache(scope, name)}


def serve_from(session: Session, cache: Cache) -> None:
    """Let ``session``'s cacheable reads come from ``cache`` (read-only requests only)."""
    session.info[SESSION_KEY] = cache


def cache_of(session: Session) -> Cache | None:
    """The cache ``session`` reads through, if it reads through one."""
    return session.info.get(SESSION_KEY)


def _answer_from_cache(state: ORMExecuteState) -> Result | None:
    wanted = state.execution_options.get(OPTION)
    if wanted is None or not state.is_select or state.is_relationship_load:
        return None
    cache = cache_of(state.session)
    if cache is None:
        return None
    frozen = cache.value(wanted.scope, wanted.name, lambda: state.invoke_statement().freeze())
    return merge_frozen_result(state.session, state.statement, frozen, load=False)()


def install(session_factory: sessionmaker) -> None:
    """Answer cacheable reads of ``session_factory``'s sessions from the cache."""
    if not event.contains(session_factory.class_, "do_orm_execute", _answer_from_cache):
        event.listen(session_factory, "do_orm_execute", _answer_from_cache)
