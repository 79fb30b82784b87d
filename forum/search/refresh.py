"""Refreshing the materialized search view: one at a time, until nothing is missed.

Every transaction that changes searchable text bumps
``search_refresh_state.generation`` before it commits. A refresher:

1. takes ``pg_try_advisory_lock`` on its own connection: at most one refresh
   runs at a time across every process, and PostgreSQL releases the lock if
   the holder dies (a redis key would stay behind);
2. reads the generation, refreshes (``CONCURRENTLY`` once the view has data,
   so readers are never blocked), records that generation as refreshed, and
   goes round again while the generation moved on meanwhile;
3. after unlocking, looks once more: a writer that found the lock taken
   counted on the holder, so a change committed just before the unlock is
   never left waiting for the next write.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, func, select, text, update

from ..models import SearchRefreshState
from .views import MATERIALIZED_VIEW

log = logging.getLogger(__name__)

#: The advisory lock key ("forum" in ASCII, plus 1): one refresher at a time.
LOCK_KEY = 0x666F72756D01
state = SearchRefreshState.__table__


@dataclass
class RefreshReport:
    refreshes: int = 0  # refreshes this call ran
    skipped: bool = False  # another process held the lock and will see our change
    seconds: float = 0.0


def _fresh(connection: Connection) -> bool:
    generation, refreshed = connection.execute(
        select(state.c.generation, state.c.refreshed_generation).where(state.c.id == 1)
    ).one()
    return generation == refreshed


def _populated(connection: Connection) -> bool:
    return bool(
        connection.scalar(
            text("SELECT ispopulated FROM pg_matviews WHERE matviewname = :name"),
            {"name": MATERIALIZED_VIEW},
        )
    )


def _refresh_once(connection: Connection, before: Callable[[], None] | None) -> None:
    generation = connection.scalar(select(state.c.generation).where(state.c.id == 1))
    connection.execute(update(state).values(last_started_at=func.clock_timestamp()))
    if before is not None:
        before()  # tests: a write "during" the refresh
    concurrently = "CONCURRENTLY " if _populated(connection) else ""
    started = time.monotonic()
    try:
        connection.exec_driver_sql(f"REFRESH MATERIALIZED VIEW {concurrently}{MATERIALIZED_VIEW}")
    except Exception as error:
        connection.execute(update(state).values(last_error=str(error)[:2000]))
        raise
    connection.execute(
        update(state).values(
            refreshed_generation=generation,
            refreshes=state.c.refreshes + 1,
            last_finished_at=func.clock_timestamp(),
            last_duration_ms=int((time.monotonic() - started) * 1000),
            last_error=None,
        )
    )


def refresh_until_fresh(
    engine: Engine,
    *,
    force: bool = False,
    max_rounds: int = 50,
    before_refresh: Callable[[], None] | None = None,
) -> RefreshReport:
    """Refresh until the view holds every committed change (``force``: at least once).

    Returns at once, skipped, when another process holds the refresh lock: that
    process goes round again for any change it has not seen.
    """
    report = RefreshReport()
    started = time.monotonic()
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        while True:
            if not connection.scalar(select(func.pg_try_advisory_lock(LOCK_KEY))):
                report.skipped = report.refreshes == 0
                break
            try:
                while report.refreshes < max_rounds and (
                    (force and report.refreshes == 0)
                    or not _fresh(connection)
                    or not _populated(connection)
                ):
                    _refresh_once(connection, before_refresh)
                    report.refreshes += 1
            finally:
                connection.scalar(select(func.pg_advisory_unlock(LOCK_KEY)))
            if _fresh(connection) or report.refreshes >= max_rounds:
                break
    report.seconds = time.monotonic() - started
    if report.refreshes:
        log.info("search view refreshed %d time(s) in %.2fs", report.refreshes, report.seconds)
    return report


def refresh_status(connection: Connection) -> dict[str, Any]:
    """What the /strategies page and the tests show: generations, counts, last run."""
    row = connection.execute(select(state).where(state.c.id == 1)).one()
    return {**row._asdict(), "fresh": row.generation == row.refreshed_generation}
