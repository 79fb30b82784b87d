"""Views. ``forum.views.api`` is the JSON API."""

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
