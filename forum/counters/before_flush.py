"""Strategy ``before_flush``: one reconciler per flush, reading the session's changes.

Before each flush, a ``Session`` ``before_flush`` listener works out what the
flush will write (``flush_plan``: new, changed and deleted items and middle
parents, by the unit of work's own rules), locks the item rows it will change
and reads what they hold (``row_locks``), nets the changes per parent row and
writes them as one ``UPDATE ... SET x = x + :delta`` per parent row, in lock
order (``parent_writer``). A hundred comments to one thread in one
transaction cost one thread UPDATE and one board UPDATE.

Parents that are new in this flush (a thread created with its opening post)
have no row to update yet: their counters are computed from zero and go into
their INSERT. Nothing loads a parent's children or counts them in SQL. The
mapper events of ``flush_check`` confirm that the flush wrote what was planned.

Cannot see: changes that do not pass through the session (Core or raw SQL);
ORM bulk statements are refused (``bulk_guard``).
"""

from __future__ import annotations

from sqlalchemy.orm import Session, UOWTransaction

from . import at_commit
from .bulk_guard import guards
from .copies import bookkeeping
from .declaration import CounterSet
from .flush_check import flush_check
from .flush_counts import count_flush
from .ownership import owned_counters
from .row_locks import lock_tracking
from .strategy import CounterStrategy, Listener


def reconcile_counters(session: Session, flush_context: UOWTransaction, instances: object) -> None:
    """Net every counter change waiting in ``session`` and write it before the flush."""
    with session.no_autoflush:
        count_flush(session)


def build(counters: CounterSet) -> CounterStrategy:
    return CounterStrategy(
        name="before_flush",
        counters=counters,
        listeners=(
            *guards(),
            Listener(Session, "before_flush", reconcile_counters),
            *flush_check(counters),
            *lock_tracking(counters),
            *at_commit.kept_for_commit(counters),
            *owned_counters(counters),
            *bookkeeping(counters),
        ),
    )
