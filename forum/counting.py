"""The forum's counters, declared once, and installed on the app's session factory.

Every strategy, the bulk-write guard, the ownership check, ``forum-reconcile``
(its truth queries and its repair), ``forum-seed``'s set-based pass and
``forum-bench`` read this one declaration. ``includeme`` installs the strategy
``forum.counter_strategy`` names on the app's own session factory
(``request.dbsession``). Code that makes sessions without the app (tests,
forum-bench) uses ``CountedSession``, on which ``use()`` installs a strategy;
``use()`` replaces the one installed there before, so the tests can run every
strategy in one process. A plain ``sqlalchemy.orm.Session`` counts nothing.
"""

from __future__ import annotations

from pyramid.config import Configurator
from sqlalchemy.orm import Session, sessionmaker

from . import counters
from .counters import (
    CounterBypassError,
    CounterSet,
    CounterStrategy,
    GuardedSession,
    count,
    rollup,
    total,
)
from .models import Board, Comment, Thread, User
from .words import word_count

__all__ = [
    "FORUM_COUNTERS",
    "STRATEGIES",
    "CountedSession",
    "CounterBypassError",
    "GuardedSession",
    "active",
    "install",
    "use",
]

FORUM_COUNTERS = CounterSet(
    count(Comment.thread, into=Thread.comment_count),
    total(Comment.thread, Comment.message, weigh=word_count, into=Thread.word_count),
    count(Comment.author, into=User.comment_count),
    count(Thread.board, into=Board.thread_count),
    rollup(Thread.board, Thread.comment_count, into=Board.comment_count),
)

STRATEGIES: dict[str, CounterStrategy] = {
    name: counters.strategy(name, FORUM_COUNTERS) for name in counters.STRATEGY_NAMES
}


class CountedSession(GuardedSession):
    """For sessions made directly, outside the app: ``use()`` installs a strategy here."""


def install(
    target: sessionmaker | type[Session], name: str | CounterStrategy, apply: str = "flush"
) -> CounterStrategy:
    """Install strategy ``name`` (keeping the forum's counters) on a session factory."""
    return counters.install(target, name, FORUM_COUNTERS, apply=apply)


def use(name: str | CounterStrategy, apply: str = "flush") -> CounterStrategy:
    """Install strategy ``name`` on ``CountedSession`` (sessions made outside the app)."""
    return install(CountedSession, name, apply)


def active(target: sessionmaker | type[Session] = CountedSession) -> CounterStrategy | None:
    """The strategy installed on ``target`` (by default ``CountedSession``), if any."""
    return counters.active(target)


def includeme(config: Configurator) -> None:
    settings = config.registry.settings["forum.settings"]
    install(config.registry["dbsession_factory"], settings.counter_strategy, settings.counter_apply)
