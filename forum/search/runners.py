"""Who runs the refresh after a commit asked for one: ``forum.search_refresh``.

* ``inline``: at once, in the process and thread that committed (after the
  commit, so it never fails the request, but the request waits for it): tests
  and tiny sites.
* ``background``: APScheduler's BackgroundScheduler in the web process; a
  request schedules one run a short debounce later unless one is pending, so a
  burst of writes costs one refresh; a failure is retried with backoff; a
  periodic safety refresh catches anything missed.
* ``celery``: a Celery task on the Redis broker ``forum.celery_broker_url``, for
  several web processes; run ``celery -A forum.tasks worker -B``.

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

    def __init__(self, engine: Engine, debounce: float, safety_interval: float) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler

        self.engine = engine
        self.debounce = debounce
        self.safety_interval = safety_interval
        self.failures = 0
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
            self._schedule(self.debounce)
        except Exception:
            log.exception("could not schedule a search refresh")

    def _schedule(self, delay: float) -> None:
        """One pending run at a time: a request while one is pending joins it."""
        with self._lock:
            if self.scheduler.get_job(self.JOB) is None:
                self.scheduler.add_job(
                    self._run,
                    "date",
                    run_date=datetime.now(UTC) + timedelta(seconds=delay),
                    id=self.JOB,
                )

    def _run(self) -> None:
        try:
            refresh_until_fresh(self.engine)
        except Exception:
            self.failures += 1
            backoff = min(2.0**self.failures, MAX_BACKOFF_SECONDS)
            log.exception(
                "search refresh failed (%d in a row); retrying in %.0fs", self.failures, backoff
            )
            self._schedule(backoff)
        else:
            self.failures = 0


class CeleryRunner(RefreshRunner):
    name = "celery"

    def __init__(self, broker_url: str, debounce: float) -> None:
        from .. import tasks

        tasks.configure(broker_url)
        self.task = tasks.refresh_search_view
        self.debounce = debounce

    def request(self) -> None:
        try:
            self.task.apply_async(countdown=self.debounce)
        except Exception:  # the broker is down: the worker's safety refresh catches up
            log.exception("could not send the search refresh task")
