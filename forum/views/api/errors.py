"""Every refusal as ``{"error": {"code", "message"}}`` with the right status.

Nothing a client sends may produce a 500: bad input is caught as ApiError (or
a domain error from the services) and answered with a 4xx; a refused request
changes nothing, because the request's transaction is aborted.
"""

from __future__ import annotations

import logging

from pyramid.exceptions import BadCSRFToken
from pyramid.httpexceptions import HTTPForbidden
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import exception_view_config, forbidden_view_config, notfound_view_config
from sqlalchemy.exc import DBAPIError, PendingRollbackError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError

from ...authorization import Missing, refusal
from ...outage import (
    busy_retry_after_header,
    is_unavailable,
    lost_lock_race,
    retry_after_header,
)
from ...services.errors import Conflict, InvalidField, NotFound

log = logging.getLogger(__name__)
API = r"^/api(/|$)"


class ApiError(Exception):
    """Raise from a view to answer with this status and error body."""

    def __init__(self, status: int, code: str, message: str, **headers: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def error_response(request: Request, status: int, code: str, message: str, **headers) -> Response:
    response = request.response
    response.status_int = status
    response.headers.update(headers)
    response.content_type = "application/json"
    response.json_body = {"error": {"code": code, "message": message}}
    return response


@exception_view_config(ApiError, path_info=API)
def api_error(exc: ApiError, request: Request) -> Response:
    return error_response(request, exc.status, exc.code, exc.message, **exc.headers)


@exception_view_config(InvalidField, path_info=API)
def invalid_field(exc: InvalidField, request: Request) -> Response:
    return error_response(request, 422, "invalid", exc.message)


@exception_view_config(Conflict, path_info=API)
def conflict(exc: Conflict, request: Request) -> Response:
    return error_response(request, 409, "conflict", str(exc))


@exception_view_config(NotFound, path_info=API)
def not_found(exc: NotFound, request: Request) -> Response:
    return error_response(request, 404, "not_found", str(exc))


@notfound_view_config(path_info=API)
def no_such_route(request: Request) -> Response:
    missing = request.exception
    if isinstance(missing, Missing):  # the route's board, thread or comment
        return error_response(request, 404, "not_found", f"no {missing.what} {missing.key!r}")
    return error_response(request, 404, "not_found", f"nothing at {request.path}")


@forbidden_view_config(path_info=API)
def forbidden(exc: HTTPForbidden, request: Request) -> Response:
    """A permission refused (forum.authorization): 401 signed out, else 403 with the rule."""
    if request.identity is None:
        return error_response(request, 401, "not_signed_in", "sign in first (POST /api/session)")
    return error_response(request, 403, "forbidden", refusal(request))


@exception_view_config(BadCSRFToken, path_info=API)
def bad_csrf_token(exc: BadCSRFToken, request: Request) -> Response:
    if request.session.get("user_id") is None:
        return error_response(request, 401, "not_signed_in", "sign in first (POST /api/session)")
    return error_response(
        request, 403, "csrf", "missing or wrong X-CSRF-Token header (POST /api/session gives one)"
    )


@exception_view_config(UnicodeDecodeError, path_info=API)
def not_utf8(exc: UnicodeDecodeError, request: Request) -> Response:
    # A query string, form or path that is not UTF-8 (WebOb decodes it on first use).
    return error_response(request, 400, "malformed", "the request is not valid UTF-8")


@exception_view_config(StaleDataError, path_info=API)
def stale(exc: StaleDataError, request: Request) -> Response:
    # Retried by pyramid_retry first; this answers only when every attempt lost the race.
    return error_response(
        request, 409, "conflict", "the comment was changed by someone else meanwhile; try again"
    )


def unavailable(request: Request, exc: Exception) -> Response:
    # A lost connection met at COMMIT is the one case that could also hide a bug: traceback.
    log.warning(
        "database unavailable on %s %s: answered 503",
        request.method,
        request.path,
        exc_info=isinstance(exc, PendingRollbackError),
    )
    return error_response(
        request,
        503,
        "unavailable",
        "the forum's database is unavailable for a moment; try again shortly",
        **retry_after_header(),
    )


@exception_view_config(DBAPIError, path_info=API)  # OperationalError, InterfaceError, ...
@exception_view_config(PoolTimeout, path_info=API)
@exception_view_config(PendingRollbackError, path_info=API)
def database_error(exc: Exception, request: Request) -> Response:
    if lost_lock_race(exc):
        # A deadlock or serialization failure that survived every retry (pyramid_retry).
        log.warning("lost a lock race on every attempt: %s %s", request.method, request.path)
        return error_response(
            request, 503, "busy", "the forum is busy; try again", **busy_retry_after_header()
        )
    if is_unavailable(exc):
        return unavailable(request, exc)
    log.exception("database error on %s %s", request.method, request.path)
    return error_response(request, 500, "server_error", "something went wrong on our side")


@exception_view_config(Exception, path_info=API)
def server_error(exc: Exception, request: Request) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(request, 500, "server_error", "something went wrong on our side")
