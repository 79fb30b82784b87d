"""A counter strategy: a named set of event listeners, installed on a session class.

Installed on *one* session class (a ``sessionmaker``'s own class, or a Session
subclass), never on SQLAlchemy's global ``Session``: two session factories in
one process can keep their counters with different strategies, and a session
of a class with no strategy counts nothing.

* Session events (``before_flush``, ``transient_to_pending``, ...) are listened
  for on that class.
* Mapper and attribute events cannot be scoped to a session class. They are
  listened for once, globally, through a guard that calls the handler only
  when the object's session belongs to a class this strategy is installed on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, object_session, sessionmaker

from .declaration import CounterSet

#: The class attribute naming the strategy installed on a session class.
STRATEGY_ATTRIBUTE = "counter_strategy"

#: Mapper events pass (mapper, connection, target); the others pass the target first.
_MAPPER_EVENTS = frozenset(
    f"{when}_{what}" for when in ("before", "after") for what in ("insert", "update", "delete")
)


def strategy_of(session: Session | None) -> CounterStrategy | None:
    """The strategy installed on ``session``'s class, if any."""
    return getattr(type(session), STRATEGY_ATTRIBUTE, None) if session is not None else None


def session_class(target: sessionmaker | type[Session]) -> type[Session]:
    """The class a strategy is installed on: a sessionmaker's own, or the class given."""
    return target.class_ if isinstance(target, sessionmaker) else target


@dataclass(frozen=True, eq=False)  # compared by identity: targets are SQL-aware attributes
class Listener:
    """One ``event.listen(target, identifier, fn, **options)`` call.

    ``target`` is ``Session`` for a session event (listened for on the class the
    strategy is installed on), or a mapped class or attribute.
    """

    target: Any
    identifier: str
    fn: Callable[..., Any]
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def on_session(self) -> bool:
        return self.target is Session

    def guarded(self, strategy: CounterStrategy) -> Callable[..., Any]:
        """``fn``, called only for objects whose session uses ``strategy``."""
        index = 2 if self.identifier in _MAPPER_EVENTS else 0
        fn = self.fn

        def for_own_sessions(*args: Any, **kw: Any) -> Any:
            target = args[index]
            if target is not None and strategy_of(object_session(target)) is strategy:
                return fn(*args, **kw)
            return None

        for_own_sessions.__name__ = getattr(fn, "__name__", "listener")
        return for_own_sessions


@dataclass(frozen=True, eq=False)
class CounterStrategy:
    """The listeners that together keep the counters exact."""

    name: str
    listeners: tuple[Listener, ...]
    #: the declaration the listeners keep (None: a bench peer that declares nothing)
    counters: CounterSet | None = None
    #: session classes this strategy is installed on
    installed_on: set[type[Session]] = field(default_factory=set, repr=False)
    #: the guarded versions of the mapped-class listeners, listened for while installed anywhere
    _guards: dict[Listener, Callable[..., Any]] = field(default_factory=dict, repr=False)

    def install(self, target: sessionmaker | type[Session]) -> None:
        cls = session_class(target)
        if cls in self.installed_on:
            return
        current = cls.__dict__.get(STRATEGY_ATTRIBUTE)
        if current is not None:
            current.uninstall(cls)
        if not self.installed_on:
            for listener in self.listeners:
                if not listener.on_session:
                    guard = self._guards.setdefault(listener, listener.guarded(self))
                    event.listen(listener.target, listener.identifier, guard, **listener.options)
        for listener in self.listeners:
            if listener.on_session:
                event.listen(cls, listener.identifier, listener.fn, **listener.options)
        setattr(cls, STRATEGY_ATTRIBUTE, self)
        self.installed_on.add(cls)

    def uninstall(self, target: sessionmaker | type[Session]) -> None:
        cls = session_class(target)
        if cls not in self.installed_on:
            return
        for listener in reversed(self.listeners):
            if listener.on_session and event.contains(cls, listener.identifier, listener.fn):
                event.remove(cls, listener.identifier, listener.fn)
        delattr(cls, STRATEGY_ATTRIBUTE)
        self.installed_on.discard(cls)
        if not self.installed_on:
            for listener, guard in self._guards.items():
                if event.contains(listener.target, listener.identifier, guard):
                    event.remove(listener.target, listener.identifier, guard)

    def installed(self, target: sessionmaker | type[Session]) -> bool:
        return session_class(target) in self.installed_on


def counters_of(session: Session | None) -> CounterSet:
    """The declaration kept by the strategy installed on ``session``'s class."""
    strategy = strategy_of(session)
    assert strategy is not None and strategy.counters is not None, "no counters installed"
    return strategy.counters
