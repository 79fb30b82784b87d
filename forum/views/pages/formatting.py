"""How pages show numbers and moments: thousands separators, "3 minutes ago"."""

from __future__ import annotations

from datetime import UTC, datetime

#: (seconds in the unit, its name), largest first.
UNITS = (
    (365 * 24 * 3600, "year"),
    (30 * 24 * 3600, "month"),
    (7 * 24 * 3600, "week"),
    (24 * 3600, "day"),
    (3600, "hour"),
    (60, "minute"),
)


def number(value: int | None) -> str:
    """``98093`` as ``98,093``."""
    return "" if value is None else f"{value:,}"


def ago(moment: datetime, now: datetime | None = None) -> str:
    """How long ago ``moment`` was, in the largest whole unit: "3 minutes ago"."""
    now = now or datetime.now(UTC)
    seconds = int((now - moment).total_seconds())
    if seconds < 45:
        return "just now"
    for size, unit in UNITS:
        count = seconds // size
        if count >= 1:
            return f"{count} {unit}{'' if count == 1 else 's'} ago"
    return "1 minute ago"  # 45 to 59 seconds


def exact(moment: datetime) -> str:
    """The exact time, shown on hover: ``2026-12-02 04:17:40 UTC``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
