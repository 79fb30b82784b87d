"""Views: ``forum.views.pages`` (HTML) and ``forum.views.api`` (JSON)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pyramid.config import Configurator
from pyramid.renderers import JSON


def includeme(config: Configurator) -> None:
    renderer = JSON()
    renderer.add_adapter(datetime, lambda value, request: value.isoformat())
    renderer.add_adapter(uuid.UUID, lambda value, request: str(value))
    config.add_renderer("json", renderer)

    config.include("pyramid_jinja2")
    settings = config.get_settings()
    settings.setdefault(
        "jinja2.globals",
        "cursor = forum.pagination:encode_cursor\nplural = forum.views.pages.common:plural",
    )
    settings.setdefault("jinja2.autoescape", "true")
    config.add_jinja2_renderer(".jinja2")
