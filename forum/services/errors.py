"""Domain errors, raised by services and mapped to HTTP answers by the views."""

from __future__ import annotations


class InvalidField(ValueError):
    """A field's value is not acceptable; the message names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class Conflict(Exception):
    """The request clashes with the current state (a taken username, for instance)."""


class NotFound(LookupError):
    """The thing asked for does not exist (or no longer does)."""
