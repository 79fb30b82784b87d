"""forum: a reference Pyramid forum that keeps denormalized counters exact."""

from __future__ import annotations

from pathlib import Path

from pyramid.config import Configurator

from .settings import parse_settings, with_environment
from .wsgi import close_spooled_bodies


def main(global_config: dict[str, str], **settings: str):
    """Build the WSGI application (the ``paste.app_factory`` entry point)."""
    settings = with_environment(settings)
    ini = Path(global_config.get("__file__") or "the ini file").name
    settings["forum.settings"] = parse_settings(settings, ini=ini)
    with Configurator(settings=settings) as config:
        config.include(".quiet_logs")
        config.include(".security")
        config.include(".models")
        config.include(".events")
        config.include(".search")
        config.include(".routes")
        config.include(".views")
        config.include(".views.api.methods")
        config.scan(ignore=[".scripts"])  # console scripts are not part of the web app
    return close_spooled_bodies(config.make_wsgi_app())
