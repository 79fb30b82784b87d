"""Development's log keeps real errors and drops the toolbar's line for each ordinary 4xx."""

from __future__ import annotations

import logging

import pytest

from forum.quiet_logs import TOOLBAR_LOGGER, QuietClientErrors


def record(message: str) -> logging.LogRecord:
    return logging.LogRecord(TOOLBAR_LOGGER, logging.INFO, __file__, 1, message, None, None)


@pytest.mark.parametrize(
    "name",
    [
        "pyramid.httpexceptions.HTTPNotFound",
        "pyramid.httpexceptions.HTTPForbidden",
        "pyramid.httpexceptions.HTTPBadRequest",
        "pyramid.exceptions.BadCSRFToken",
    ],
)
def test_client_errors_are_dropped(name: str):
    message = f"Squashed {name} at http://127.0.0.1:6543/nowhere\ntraceback url: http://x/"
    assert QuietClientErrors().filter(record(message)) is False


@pytest.mark.parametrize(
    "message",
    [
        "Squashed RuntimeError at http://127.0.0.1:6543/\ntraceback url: http://x/",
        "Squashed sqlalchemy.orm.exc.StaleDataError at http://127.0.0.1:6543/\ntraceback url: x",
        "Squashed pyramid.httpexceptions.HTTPInternalServerError at http://h/\ntraceback url: x",
        "Uncaught pyramid.httpexceptions.HTTPNotFound at http://h/\ntraceback url: x",
        "something else entirely",
    ],
)
def test_everything_else_is_kept(message: str):
    assert QuietClientErrors().filter(record(message)) is True


def test_the_app_installs_the_filter(app):
    assert any(isinstance(f, QuietClientErrors) for f in logging.getLogger(TOOLBAR_LOGGER).filters)
