"""A counter strategy is a named set of event listeners that can be installed and removed."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event


@dataclass(frozen=True, eq=False)  # compared by identity: targets are SQL-aware attributes
class Listener:
    """One ``event.listen(target, identifier, fn, **options)`` call."""

    target: Any
    identifier: str
    fn: Callable[..., Any]
    options: Mapping[str, Any] = field(default_factory=dict)

    def listen(self) -> None:
        event.listen(self.target, self.identifier, self.fn, **self.options)

    def remove(self) -> None:
        if self.installed():
            event.remove(self.target, self.identifier, self.fn)

    def installed(self) -> bool:
        return event.contains(self.target, self.identifier, self.fn)


@dataclass(frozen=True)
class CounterStrategy:
    """The listeners that together keep the four counters exact."""

    name: str
    listeners: tuple[Listener, ...]

    def install(self) -> None:
        for listener in self.listeners:
            listener.listen()

    def uninstall(self) -> None:
        for listener in reversed(self.listeners):
            listener.remove()
