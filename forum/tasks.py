"""Celery tasks: ``celery -A forum.tasks worker -B`` refreshes the materialized search view.

The worker reads the same ini file as the web app (``FORUM_INI``, default
``development.ini``; ``FORUM_*`` environment variables apply as usual), so it
uses the same database and broker (``forum.celery_broker_url``). ``-B`` also
runs the periodic safety refresh.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from celery import Celery
from celery.signals import beat_init, worker_init
from pyramid.paster import get_appsettings
from sqlalchemy import Engine

from .search.refresh import refresh_until_fresh
from .settings import parse_settings, with_environment

celery = Celery("forum")
celery.conf.update(
    task_ignore_result=True,
    task_acks_late=True,  # a worker that dies mid-refresh leaves the task to another
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
)


def configure(broker_url: str) -> None:
    """Point the web process at the broker; publishing must never hang a request."""
    celery.conf.update(
        broker_url=broker_url,
        broker_connection_timeout=2,
        task_publish_retry=False,
    )


@cache
def _settings() -> dict[str, Any]:
    ini = os.environ.get("FORUM_INI", "development.ini")
    settings = with_environment(get_appsettings(ini))
    settings["forum.settings"] = parse_settings(settings)
    return settings


@cache
def _engine() -> Engine:
    from .models import get_engine

    return get_engine(_settings())


def configure_worker() -> None:
    """In the worker: broker and safety schedule from the ini file."""
    forum = _settings()["forum.settings"]
    celery.conf.update(
        broker_url=forum.celery_broker_url,
        beat_schedule={
            "forum-search-safety-refresh": {
                "task": "forum.tasks.refresh_search_view",
                "schedule": forum.search_safety_interval_seconds,
            }
        },
    )


@celery.task(
    name="forum.tasks.refresh_search_view",
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=None,
)
def refresh_search_view() -> dict:
    report = refresh_until_fresh(_engine())
    return {"refreshes": report.refreshes, "skipped": report.skipped}


@worker_init.connect
def _worker_starting(**kwargs: object) -> None:
    configure_worker()


@beat_init.connect
def _beat_starting(**kwargs: object) -> None:
    configure_worker()
