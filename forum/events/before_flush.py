"""Strategy ``before_flush``: one reconciler per flush, reading the session's changes.

Before each flush, a ``Session`` ``before_flush`` listener works out what the
flush will write (``flush_plan``: new, changed and deleted comments and
threads, by the unit of work's own rules), locks the comment rows it will
change and reads what they hold (``comment_locks``), nets the changes per
parent row and writes them as one ``UPDATE ... SET x = x + :delta`` per
thread and per board, in id order (``parent_updates``). A hundred comments to
one thread in one transaction cost one thread UPDATE and one board UPDATE.

Parents that are new in this flush (a thread created with its opening post)
have no row to update yet: their counters are computed from zero and go into
their INSERT. Nothing loads a thread's comments or counts them in SQL. The
mapper events of ``flush_check`` confirm that the flush wrote what was planned.

Cannot see: changes that do not pass through the session (Core or raw SQL);
ORM bulk statements are refused (``bulk_guard``).
"""

from __future__ import annotations

from sqlalchemy.orm import Session, UOWTransaction

from .bulk_guard import GUARDS
from .comment_locks import LOCK_TRACKING
from .copies import BOOKKEEPING
from .flush_check import FLUSH_CHECK
from .flush_counts import count_flush
from .ownership import OWNED_COUNTERS
from .strategy import CounterStrategy, Listener


def reconcile_counters(session: Session, flush_context: UOWTransaction, instances: object) -> None:
    """Net every counter change waiting in ``session`` and write it before the flush."""
    with session.no_autoflush:
        count_flush(session)


STRATEGY = CounterStrategy(
    name="before_flush",
    listeners=(
        *GUARDS,
        Listener(Session, "before_flush", reconcile_counters),
        *FLUSH_CHECK,
        *LOCK_TRACKING,
        *OWNED_COUNTERS,
        *BOOKKEEPING,
    ),
)
