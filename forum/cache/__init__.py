"""Caching reads with dogpile.cache, invalidated exactly on commit (``forum.cache_*``).

* ``regions``: the dogpile region ``forum.cache_backend`` names (memory, redis, none).
* ``keys``: scopes and generations, the scheme that makes invalidation exact.
* ``store``: ``Cache``, reading and invalidating, and an outage that fails nothing.
* ``orm``: ORM reads answered from the cache (``do_orm_execute``), GET requests only.
* ``rows``: the plain rows cached lists hold (merging fifty ORM objects costs more
  than reading them again).
* ``invalidation``: what a flush made stale, invalidated after the commit.

What is cached: the board list, a board (by slug) and its first page of threads,
a thread's header and its first page of comments, search results (briefly),
and the rendered forum-bench report on /strategies.
"""

from __future__ import annotations

from pyramid.config import Configurator
from pyramid.request import Request
from sqlalchemy.orm import Session, sessionmaker

from ..settings import ForumSettings
from . import invalidation, keys, orm
from .orm import cache_of, from_cache, serve_from
from .regions import build_region
from .store import Cache

__all__ = ["Cache", "build_cache", "cache_of", "from_cache", "keys", "request_cache", "serve_from"]

#: Requests that only read: their sessions may be answered from the cache.
READ_METHODS = ("GET", "HEAD")


def build_cache(settings: ForumSettings) -> Cache | None:
    """The cache the settings ask for, or None when ``forum.cache_backend = none``."""
    region = build_region(settings)
    if region is None:
        return None
    return Cache(region, search_seconds=settings.cache_search_seconds)


def wire(session_factory: sessionmaker, cache: Cache) -> None:
    """Cached reads and invalidation on commit for ``session_factory``'s sessions."""
    if session_factory.class_ is Session:
        # Listeners on SQLAlchemy's own class would reach every session in the process.
        session_factory.class_ = type("ForumSession", (Session,), {})
    orm.install(session_factory)
    invalidation.install(session_factory, cache)


def request_cache(request: Request) -> Cache | None:
    """The app's cache when this request may read from it (a GET or HEAD), else None."""
    if request.method not in READ_METHODS:
        return None
    return request.registry.get("cache")


def includeme(config: Configurator) -> None:
    cache = build_cache(config.registry.settings["forum.settings"])
    config.registry["cache"] = cache
    if cache is not None:
        wire(config.registry["dbsession_factory"], cache)
