"""Full-text search over threads and comments, ``live`` or ``materialized``.

``forum.search_view`` picks the form; with ``materialized``,
``forum.search_refresh`` picks who refreshes it after commits (see
``runners``). Both forms always exist (migration 0003), so switching needs no SQL.
"""

from __future__ import annotations

import atexit

from pyramid.config import Configurator
from sqlalchemy import Engine

from ..settings import ForumSettings
from . import requests as search_refresh
from .runners import BackgroundRunner, CeleryRunner, InlineRunner, RefreshRunner


def make_runner(settings: ForumSettings, engine: Engine) -> RefreshRunner:
    if settings.search_refresh == "inline":
        return InlineRunner(engine)
    if settings.search_refresh == "celery":
        return CeleryRunner(settings.celery_broker_url, settings.search_debounce_seconds)
    return BackgroundRunner(
        engine, settings.search_debounce_seconds, settings.search_safety_interval_seconds
    )


def includeme(config: Configurator) -> None:
    settings: ForumSettings = config.registry.settings["forum.settings"]
    runner = None
    if settings.search_view == "materialized":
        runner = make_runner(settings, config.registry["dbengine"])
        runner.start()
        atexit.register(runner.stop)
    search_refresh.use(runner)
    config.registry["search_runner"] = runner
