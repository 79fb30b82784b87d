"""The forum's counters compared with the truth, and repaired: ``forum-reconcile``.

Everything is generated from the one declaration (``forum.counting``) by
``forum.counters.reconcile``: the truth queries (a thread's words through the
one ``word_count`` function, streamed), the batches locked in the writers'
order, and the repair.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Connection

from .counters.reconcile import Drift, Report
from .counters.reconcile import reconcile as reconcile_counters
from .counting import FORUM_COUNTERS

__all__ = ["Drift", "Report", "reconcile"]


def reconcile(
    connection: Connection,
    *,
    fix: bool = False,
    batch: int = 1000,
    on_drift: Callable[[Drift], None] | None = None,
    only: dict[type, Iterable[Any] | None] | None = None,
) -> Report:
    """Check (and with ``fix`` repair) every thread, board and user counter."""
    return reconcile_counters(
        FORUM_COUNTERS, connection, fix=fix, batch=batch, on_drift=on_drift, only=only
    )
