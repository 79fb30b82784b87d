"""Checks for text a client sends: shared by the JSON API and the HTML forms."""

from __future__ import annotations

from .errors import InvalidField


def check_text(field: str, value: object, *, max_chars: int, single_line: bool = False) -> str:
    """Return ``value`` if it is acceptable text for ``field``, else raise InvalidField.

    Text is stored exactly as written (no trimming of a message), but it must
    hold something other than white space, fit the limit, and contain no NUL
    character (PostgreSQL text cannot store one).
    """
    if value is None:
        raise InvalidField(field, f"{field} is required")
    if not isinstance(value, str):
        raise InvalidField(field, f"{field} must be a string")
    if "\x00" in value:
        raise InvalidField(field, f"{field} must not contain NUL characters")
    if not value.strip():
        raise InvalidField(field, f"{field} must not be empty")
    if len(value) > max_chars:
        raise InvalidField(field, f"{field} is longer than {max_chars} characters")
    if single_line and ("\n" in value or "\r" in value):
        raise InvalidField(field, f"{field} must be a single line")
    return value
