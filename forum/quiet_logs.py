"""Development logs stay for real problems: no "Squashed ... traceback" line per 404.

pyramid_debugtoolbar logs, at INFO, every exception a view raised even when an
exception view turned it into an ordinary answer: every 404, 403, 400 and
expired form became a two-line "Squashed pyramid.httpexceptions.HTTPNotFound
... traceback url" entry. A filter on its logger drops those for client errors
(4xx) only; a 500 (and anything that is not an HTTP answer) is still logged.
"""

from __future__ import annotations

import logging
import pydoc
import re

from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPException

TOOLBAR_LOGGER = "pyramid_debugtoolbar"
SQUASHED = re.compile(r"Squashed (?P<name>[\w.]+) at ")


def is_client_error(exception_name: str) -> bool:
    """``exception_name`` (dotted) names an HTTP exception with a 4xx status."""
    found = pydoc.locate(exception_name)
    return (
        isinstance(found, type)
        and issubclass(found, HTTPException)
        and 400 <= getattr(found, "code", 500) < 500
    )


class QuietClientErrors(logging.Filter):
    """Drops the toolbar's "Squashed" records for 4xx answers."""

    def filter(self, record: logging.LogRecord) -> bool:
        match = SQUASHED.match(record.getMessage())
        return not (match and is_client_error(match.group("name")))


def includeme(config: Configurator) -> None:
    logger = logging.getLogger(TOOLBAR_LOGGER)
    if not any(isinstance(f, QuietClientErrors) for f in logger.filters):
        logger.addFilter(QuietClientErrors())
