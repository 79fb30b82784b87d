"""What every console script shares: load the ini file, get the app's settings and engine."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pyramid.paster import bootstrap, setup_logging


def ini_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("config_uri", metavar="INI", help="the ini file, e.g. development.ini")
    return parser


@contextmanager
def application(config_uri: str) -> Iterator[dict[str, Any]]:
    """The bootstrapped app's environment (``request``, ``registry``), closed afterwards.

    Building the app applies FORUM_* environment overrides, resolves the
    database (starting the embedded server if it is the one in use) and
    installs the configured counter strategy, exactly as the web server does.
    """
    setup_logging(config_uri)
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    with bootstrap(config_uri) as env:
        yield env
