"""A page's independent reads, run at once on connections of their own.

With ``forum.parallel_queries = true`` the reads a page needs that do not depend
on each other (the thread page: its header and its page of comments; the board
index: the boards, the latest threads, the totals) run concurrently, each on a
``Session`` of its own in a READ ONLY transaction, on a thread pool of
``forum.parallel_workers`` threads. They use an engine of their own whose pool
holds exactly that many connections (no overflow), so a worker never waits for a
connection and a request holding the app's pool can never starve its own reads.
Per web process that is ``forum.parallel_workers`` more connections to PostgreSQL.

Unlike the reference ("Wicked Production SQLAlchemy", whose pool prints and
swallows errors), every read is waited for and none is lost: the first error,
in the order the reads were given, is raised again in the request's thread
(the others are added to it as notes), so the request fails with its usual error
page (503 for a database outage), never with a partial page. Reads not started
when one fails are cancelled; running ones are waited for, so no connection
outlives the request.

What a read returns is detached (its session is closed): it must load what the
page shows (``joinedload``), which is what ``forum.services.reading`` does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import Any

from pyramid.config import Configurator
from pyramid.request import Request
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session

from .outage import CONNECT_TIMEOUT_SECONDS
from .settings import ForumSettings

log = logging.getLogger(__name__)

#: One read: given a session, return what the page needs from it.
Read = Callable[[Session], Any]


class ParallelReader:
    """Runs named reads at once, each on its own session and read-only transaction."""

    def __init__(self, engine: Engine, workers: int) -> None:
        self.workers = workers
        # Its own pool, sized to the workers: a read never waits for a connection.
        self.engine = create_engine(
            engine.url,
            pool_size=workers,
            max_overflow=0,
            pool_pre_ping=True,
            connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
        ).execution_options(postgresql_readonly=True)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="forum-read")

    def _one(self, read: Read) -> Any:
        # Closing the session ends its read-only transaction and returns the
        # connection; what it loaded stays loaded, detached.
        with Session(self.engine, expire_on_commit=False) as session:
            return read(session)

    def run(self, reads: Mapping[str, Read]) -> dict[str, Any]:
        """Every read's result by name; or the first read's error, raised here."""
        futures: dict[str, Future] = {
            name: self._pool.submit(self._one, read) for name, read in reads.items()
        }
        wait(futures.values(), return_when=FIRST_EXCEPTION)
        for future in futures.values():
            future.cancel()  # not started yet: never will be (a no-op once done)
        wait(futures.values())
        failed = [
            (name, future.exception())
            for name, future in futures.items()
            if not future.cancelled() and future.exception() is not None
        ]
        if failed:
            first_name, first = failed[0]
            assert first is not None
            for name, other in failed[1:]:
                first.add_note(f"forum.parallel: read {name!r} also failed: {other!r}")
            first.add_note(f"forum.parallel: raised by read {first_name!r}")
            raise first
        return {name: future.result() for name, future in futures.items()}

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.engine.dispose()


def run_serial(session: Session, reads: Mapping[str, Read]) -> dict[str, Any]:
    """The same reads one after the other on ``session`` (parallel queries off)."""
    return {name: read(session) for name, read in reads.items()}


def read_all(request: Request, reads: Mapping[str, Read]) -> dict[str, Any]:
    """A page's independent reads: at once if the app runs them so, else in turn on
    the request's own session. Either way the same results, or the same error."""
    reader: ParallelReader | None = request.registry.get("parallel_reader")
    if reader is None:
        return run_serial(request.dbsession, reads)
    return reader.run(reads)


def includeme(config: Configurator) -> None:
    settings: ForumSettings = config.registry.settings["forum.settings"]
    reader = None
    if settings.parallel_queries:
        reader = ParallelReader(config.registry["dbengine"], settings.parallel_workers)
    config.registry["parallel_reader"] = reader
