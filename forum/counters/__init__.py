"""Denormalized counters kept exact by SQLAlchemy session and mapper events.

Declare the counters once (``declaration``), install a strategy on your own
session factory, and every session it makes keeps them exact::

    COUNTERS = CounterSet(
        count(LineItem.order, into=Order.item_count),
        total(LineItem.order, LineItem.quantity, into=Order.quantity),
        count(Order.customer, into=Customer.order_count),
        rollup(Order.customer, Order.quantity, into=Customer.quantity),
    )
    Session = sessionmaker(engine)
    install(Session, "before_flush", COUNTERS)

Three strategies keep the same promises with different trade-offs:
``attribute`` (fresh in memory at every attribute set), ``before_flush`` (one
netted write per parent per flush) and ``after_insert`` (one write per row as
the flush writes it). ``reconcile`` compares every counter with the truth and
repairs drift. This package knows nothing of any application's models.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from . import after_insert, attribute, before_flush
from .at_commit import APPLY_ATTRIBUTE, APPLY_MODES
from .bulk_guard import CounterBypassError, GuardedSession
from .declaration import Counter, CounterSet, DeclarationError, count, rollup, total
from .strategy import CounterStrategy, session_class, strategy_of

__all__ = [
    "STRATEGY_NAMES",
    "Counter",
    "CounterBypassError",
    "CounterSet",
    "CounterStrategy",
    "DeclarationError",
    "GuardedSession",
    "active",
    "count",
    "install",
    "rollup",
    "strategy",
    "strategy_of",
    "total",
    "uninstall",
]

_BUILDERS = {
    "attribute": attribute.build,
    "before_flush": before_flush.build,
    "after_insert": after_insert.build,
}
STRATEGY_NAMES = tuple(_BUILDERS)

#: (name, declaration) -> the strategy: built once, so its mapper listeners are shared
_BUILT: dict[tuple[str, CounterSet], CounterStrategy] = {}


def strategy(name: str, counters: CounterSet) -> CounterStrategy:
    """Strategy ``name`` keeping ``counters`` (one object per pair, built on first use)."""
    if name not in _BUILDERS:
        raise ValueError(
            f"unknown counter strategy {name!r}; choose one of: {', '.join(STRATEGY_NAMES)}"
        )
    if (name, counters) not in _BUILT:
        _BUILT[(name, counters)] = _BUILDERS[name](counters)
    return _BUILT[(name, counters)]


def install(
    target: sessionmaker | type[Session],
    name: str | CounterStrategy,
    counters: CounterSet | None = None,
    *,
    apply: str = "flush",
) -> CounterStrategy:
    """Install a strategy on a session factory (or Session subclass); return it.

    ``name`` with ``counters``, or a ready CounterStrategy object (forum-bench
    installs the naive peers it measures this way). Replaces the strategy
    installed there before, if any. A sessionmaker whose class does not refuse
    the legacy bulk methods is given one that does. Never the global Session.
    ``apply``: when the parents' UPDATEs are issued, at each flush (the default)
    or just before the commit (``at_commit``: hot rows held for less time).
    """
    if apply not in APPLY_MODES:
        raise ValueError(f"unknown apply mode {apply!r}; choose one of: {', '.join(APPLY_MODES)}")
    if isinstance(name, CounterStrategy):
        chosen = name
    else:
        if counters is None:
            raise TypeError("install() needs the CounterSet the strategy keeps")
        chosen = strategy(name, counters)
    if session_class(target) is Session:
        raise ValueError("install counters on your own sessionmaker or Session subclass")
    if isinstance(target, sessionmaker) and not issubclass(target.class_, GuardedSession):
        target.class_ = type(target.class_.__name__, (GuardedSession, target.class_), {})
    chosen.install(target)
    setattr(session_class(target), APPLY_ATTRIBUTE, apply)
    return chosen


def active(target: sessionmaker | type[Session]) -> CounterStrategy | None:
    """The strategy installed on ``target``, if any."""
    return session_class(target).__dict__.get("counter_strategy")


def uninstall(target: sessionmaker | type[Session]) -> None:
    """Remove the strategy installed on ``target`` (its sessions count nothing after)."""
    current = active(target)
    if current is not None:
        current.uninstall(target)
    if APPLY_ATTRIBUTE in session_class(target).__dict__:
        delattr(session_class(target), APPLY_ATTRIBUTE)
