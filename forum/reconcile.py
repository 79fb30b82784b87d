"""The forum's counters compared with the truth, and repaired: ``forum-reconcile``.

Everything is generated from the one declaration (``forum.counting``) by
``forum.counters.reconcile``: the truth queries (a thread's words through the
one ``word_count`` function, streamed), the batches locked in the writers'
order, and the repair. ``reconcile(connection, fix=..., batch=..., on_drift=...,
only=...)`` checks every thread, board and user counter.
"""

from __future__ import annotations

from functools import partial

from .counters.reconcile import Drift, Report
from .counters.reconcile import reconcile as reconcile_counters
from .counting import FORUM_COUNTERS

__all__ = ["Drift", "Report", "reconcile"]

reconcile = partial(reconcile_counters, FORUM_COUNTERS)
