"""forum: a reference Pyramid forum that keeps denormalized counters exact."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from pyramid.config import Configurator

from .settings import SettingError, parse_settings, with_environment
from .wsgi import close_spooled_bodies


def main(global_config: dict[str, str], **ini_settings: str) -> Callable:
    """Build the WSGI application (the ``paste.app_factory`` entry point)."""
    settings = with_environment(ini_settings)
    ini_file = global_config.get("__file__")
    try:
        ini = Path(ini_file).name if ini_file else "the settings given"
        settings["forum.settings"] = parse_settings(settings, ini=ini)
    except SettingError as error:
        if not ini_file:  # built in code (the tests): let the caller see the exception
            raise
        # Loaded from an ini file (pserve, a Celery worker): one line, no traceback.
        print(f"forum: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    with Configurator(settings=settings) as config:
        config.include(".quiet_logs")
        config.include(".security")
        config.include(".security_headers")
        config.include(".models")
        config.include(".parallel")
        config.include(".counting")
        config.include(".cache")
        config.include(".search")
        config.include(".routes")
        config.include(".views")
        config.include(".views.api.methods")
        config.scan(ignore=[".scripts"])  # console scripts are not part of the web app
    return close_spooled_bodies(config.make_wsgi_app())
