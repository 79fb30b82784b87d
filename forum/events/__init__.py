"""The counter strategies, and choosing one.

Exactly one strategy is installed at a time, chosen at start-up by
``forum.counter_strategy``. ``use()`` removes the active one before installing
another, so the tests can run every strategy in one process.
"""

from __future__ import annotations

from pyramid.config import Configurator

from . import after_insert, attribute, before_flush
from .bulk_guard import CountedSession, CounterBypassError
from .strategy import CounterStrategy

__all__ = ["STRATEGIES", "CountedSession", "CounterBypassError", "active", "use"]

STRATEGIES: dict[str, CounterStrategy] = {
    strategy.name: strategy
    for strategy in (attribute.STRATEGY, before_flush.STRATEGY, after_insert.STRATEGY)
}

_active: CounterStrategy | None = None


def use(name: str | CounterStrategy) -> CounterStrategy:
    """Install strategy ``name`` (removing the active one); return it.

    A CounterStrategy object may be given instead of a name: forum-bench
    installs the naive versions it measures this way.
    """
    global _active
    if isinstance(name, CounterStrategy):
        strategy = name
    elif name in STRATEGIES:
        strategy = STRATEGIES[name]
    else:
        raise ValueError(
            f"unknown counter strategy {name!r}; choose one of: {', '.join(STRATEGIES)}"
        )
    if _active is not strategy:
        if _active is not None:
            _active.uninstall()
        strategy.install()
        _active = strategy
    return strategy


def active() -> CounterStrategy | None:
    """The installed strategy, if any."""
    return _active


def includeme(config: Configurator) -> None:
    use(config.registry.settings["forum.settings"].counter_strategy)
    # The legacy bulk methods fire no event: the app's sessions refuse them themselves.
    config.registry["dbsession_factory"].class_ = CountedSession
