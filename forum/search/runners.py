"""Who runs the refresh after a commit asked for one: ``forum.search_refresh``.

* ``inline``: at once, in the process and thread that committed (after the
  commit, so it never fails the request, but the request waits for it): tests
  and tiny sites.
* ``background``: APScheduler's BackgroundScheduler in the web process. A
  request (re)schedules one run for when the writes have been quiet for the
  debounce (but never later than ``MAX_DELAY_FACTOR`` debounces after the first
  request, so a steady stream of writes cannot postpone it forever): a burst of
  writes costs one refresh. A failure is retried with backoff; a periodic
  safety refresh catches anything missed.
* ``celery``: a Celery task on the Redis broker ``forum.celery_broker_url``, for
  several web processes; run ``celery -A forum.tasks worker -B``. Each process
  sends at most one task per debounce window.

Every runner ends in ``refresh.refresh_until_fresh``, whose advisory lock makes
concurrent refreshes across processes collapse into one.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from .refresh import refresh_until_fresh

log = logging.getLogger(__name__)

#: Longest wait between retries of a failing refresh.
MAX_BACKOFF_SECONDS = 300.0
#: A pending refresh waits for a quiet spell, but at most this many debounces.
MAX_DELAY_FACTOR = 10


class Debounce:
    """When to run: ``debounce`` after the latest request, capped from the first one."""

    def __init__(self, debounce: float) -> None:
        self.debounce = debounce
        self.first: datetime | None = None

    def next_run(self) -> datetime:
        now = datetime.now(UTC)
        self.first = self.first or now
        latest = self.first + timedelta(seconds=self.debounce * MAX_DELAY_FACTOR)
        return min(now + timedelta(seconds=self.debounce), latest)

    def reset(self) -> None:
        self.first = None


class RefreshRunner:
    name = "none"

    def request(self) -> None:
        """A commit changed searchable text; called after the commit, never raises."""

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


class InlineRunner(RefreshRunner):
    name = "inline"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def request(self) -> None:
        try:
            refresh_until_fresh(self.engine)
        except Exception:  # the write is committed; the safety refresh will catch up
            log.exception("inline search refresh failed")


class BackgroundRunner(RefreshRunner):
    name = "background"
    JOB = "forum-search-refresh"

    def __init__(
        self, engine: Engine, debounce: float, safety_interval: float, retry_base: float = 2.0
    ) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler

        self.engine = engine
        self.debounce = debounce
        self.safety_interval = safety_interval
        self.retry_base = retry_base
        self.failures = 0
        self.runs = 0  # finished runs, successful or not
        self._debounce = Debounce(debounce)
        self._lock = threading.Lock()
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )

    def start(self) -> None:
        self.scheduler.start()
        if self.safety_interval > 0:
            self.scheduler.add_job(
                self._run, "interval", seconds=self.safety_interval, id="forum-search-safety"
            )
        self._schedule(0)  # catch up on anything from before this process started

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)

    def request(self) -> None:
        try:
            with self._lock:
                run_at = self._debounce.next_run()
                job = self.scheduler.get_job(self.JOB)
                if job is None:
                    self.scheduler.add_job(self._run, "date", run_date=run_at, id=self.JOB)
                elif self.failures and job.next_run_time and job.next_run_time > run_at:
                    pass  # backing off after a failure: the pending retry covers this request
                else:
                    job.modify(next_run_time=run_at)
        except Exception:
            log.exception("could not schedule a search refresh")

    def _schedule(self, delay: float, *, no_sooner: bool = False) -> None:
        """Run once ``delay`` seconds from now, unless a run is already pending.

        ``no_sooner`` (a retry after a failure): a run that a request scheduled
        while the failing one was running is pushed back to the backoff too.
        """
        run_at = datetime.now(UTC) + timedelta(seconds=delay)
        with self._lock:
            job = self.scheduler.get_job(self.JOB)
            if job is None:
                self.scheduler.add_job(self._run, "date", run_date=run_at, id=self.JOB)
            elif no_sooner and job.next_run_time and job.next_run_time < run_at:
                job.modify(next_run_time=run_at)

    def _run(self) -> None:
        with self._lock:
            self._debounce.reset()  # requests from now on wait for a new quiet spell
        try:
            refresh_until_fresh(self.engine)
        except Exception:
            self.failures += 1
            backoff = min(self.retry_base * 2 ** (self.failures - 1), MAX_BACKOFF_SECONDS)
            log.exception(
                "search refresh failed (%d in a row); retrying in %.1fs", self.failures, backoff
            )
            self._schedule(backoff, no_sooner=True)
        else:
            self.failures = 0
        finally:
            self.runs += 1


class CeleryRunner(RefreshRunner):
    """Sends the task once the writes have been quiet for the debounce, off the request thread.

    Each web process sends at most one task per quiet spell; the advisory lock
    makes the workers' refreshes collapse into one anyway.
    """

    name = "celery"

    def __init__(self, broker_url: str, debounce: float) -> None:
        from .. import tasks

        tasks.configure(broker_url)
        self.task = tasks.refresh_search_view
        self._debounce = Debounce(debounce)
        self._pending: threading.Timer | None = None
        self._lock = threading.Lock()

    def request(self) -> None:
        with self._lock:
            delay = (self._debounce.next_run() - datetime.now(UTC)).total_seconds()
            if self._pending is not None:
                self._pending.cancel()
            self._pending = threading.Timer(max(delay, 0.0), self._send)
            self._pending.daemon = True
            self._pending.start()

    def _send(self) -> None:
        with self._lock:
            self._pending = None
            self._debounce.reset()
        try:
            self.task.apply_async()
        except Exception:  # the broker is down: the worker's safety refresh catches up
            log.exception("could not send the search refresh task")

    def stop(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, None
        if pending is not None:
            pending.cancel()
            self._send()  # do not drop a request on shutdown
