"""What every console script shares: load the ini file, get the app's settings and engine."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pyramid.exceptions import ConfigurationError
from pyramid.paster import bootstrap, get_appsettings, setup_logging

from ..settings import ForumSettings, parse_settings, with_environment


def ini_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("config_uri", metavar="INI", help="the ini file, e.g. development.ini")
    return parser


def check_settings(config_uri: str) -> ForumSettings:
    """The ini file's settings with the environment applied, checked before anything else.

    A wrong value ends the script here with one line (the setting, where its
    value came from, what it accepts) and exit status 2: no traceback, and no
    migration or server start before it.
    """
    try:
        settings = with_environment(get_appsettings(config_uri))
        return parse_settings(settings, ini=Path(config_uri).name)
    except ConfigurationError as error:
        print(f"forum: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    except (FileNotFoundError, LookupError) as error:  # no such ini file, or no [app:main]
        print(f"forum: cannot read the settings in {config_uri}: {error}", file=sys.stderr)
        raise SystemExit(2) from None


@contextmanager
def application(config_uri: str) -> Iterator[dict[str, Any]]:
    """The bootstrapped app's environment (``request``, ``registry``), closed afterwards.

    Building the app applies FORUM_* environment overrides, resolves the
    database (starting the embedded server if it is the one in use) and
    installs the configured counter strategy, exactly as the web server does.
    """
    check_settings(config_uri)
    setup_logging(config_uri)
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    with bootstrap(config_uri) as env:
        yield env
