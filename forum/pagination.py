"""Keyset cursors for paginated lists: opaque to clients, exact for the database.

A cursor is the (created_at, id) of the last item shown, base64url-encoded.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime


class InvalidCursor(ValueError):
    pass


def encode_cursor(key: tuple[datetime, uuid.UUID]) -> str:
    created_at, item_id = key
    raw = json.dumps([created_at.isoformat(), str(item_id)], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(value: str) -> tuple[datetime, uuid.UUID]:
    try:
        padded = value + "=" * (-len(value) % 4)
        created_at, item_id = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        when = datetime.fromisoformat(created_at)
        if when.tzinfo is None:
            raise ValueError("naive timestamp")
        return when, uuid.UUID(item_id)
    except (ValueError, TypeError, UnicodeError, binascii.Error, RecursionError):
        raise InvalidCursor(f"{value[:40]!r} is not a cursor this server gave out") from None
