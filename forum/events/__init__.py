"""The counter strategies, and installing one on a session factory.

``includeme`` installs the strategy ``forum.counter_strategy`` names on the
app's own session factory (``request.dbsession``). Code that makes sessions
without the app (tests, forum-bench) uses ``CountedSession``, on which
``use()`` installs a strategy; ``use()`` removes the one installed there
before, so the tests can run every strategy in one process. A plain
``sqlalchemy.orm.Session`` counts nothing.
"""

from __future__ import annotations

from pyramid.config import Configurator
from sqlalchemy.orm import Session, sessionmaker

from . import after_insert, attribute, before_flush
from .bulk_guard import CounterBypassError, GuardedSession
from .strategy import CounterStrategy, session_class, strategy_of

__all__ = [
    "STRATEGIES",
    "CountedSession",
    "CounterBypassError",
    "GuardedSession",
    "active",
    "install",
    "strategy_of",
    "use",
]

STRATEGIES: dict[str, CounterStrategy] = {
    strategy.name: strategy
    for strategy in (attribute.STRATEGY, before_flush.STRATEGY, after_insert.STRATEGY)
}


class CountedSession(GuardedSession):
    """For sessions made directly, outside the app: ``use()`` installs a strategy here."""


def _strategy(name: str | CounterStrategy) -> CounterStrategy:
    if isinstance(name, CounterStrategy):
        return name
    if name in STRATEGIES:
        return STRATEGIES[name]
    raise ValueError(f"unknown counter strategy {name!r}; choose one of: {', '.join(STRATEGIES)}")


def install(target: sessionmaker | type[Session], name: str | CounterStrategy) -> CounterStrategy:
    """Install strategy ``name`` on a session factory (or Session subclass); return it.

    Replaces the strategy installed there before, if any. A sessionmaker whose
    class does not refuse the legacy bulk methods is given one that does.
    A CounterStrategy object may be given instead of a name: forum-bench
    installs the naive versions it measures this way.
    """
    strategy = _strategy(name)
    if isinstance(target, sessionmaker) and not issubclass(target.class_, GuardedSession):
        target.class_ = type(target.class_.__name__, (GuardedSession, target.class_), {})
    strategy.install(target)
    return strategy


def use(name: str | CounterStrategy) -> CounterStrategy:
    """Install strategy ``name`` on ``CountedSession`` (sessions made outside the app)."""
    return install(CountedSession, name)


def active(target: sessionmaker | type[Session] = CountedSession) -> CounterStrategy | None:
    """The strategy installed on ``target`` (by default ``CountedSession``), if any."""
    return session_class(target).__dict__.get("counter_strategy")


def includeme(config: Configurator) -> None:
    install(
        config.registry["dbsession_factory"],
        config.registry.settings["forum.settings"].counter_strategy,
    )
