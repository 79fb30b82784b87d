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
        "\n".join(
            [
                "cursor = forum.pagination:encode_cursor",
                "plural = forum.views.pages.common:plural",
                "number = forum.views.pages.formatting:number",
                "ago = forum.views.pages.formatting:ago",
                "exact_time = forum.views.pages.formatting:exact",
                "markdown = forum.markup:render_markdown",
            ]
        ),
    )
    settings.setdefault("jinja2.autoescape", "true")
    config.add_jinja2_renderer(".jinja2")
