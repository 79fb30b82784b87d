"""Friendly HTML error pages: 400, 403, 404, 409, plain 503s (busy, unavailable) and a plain 500."""

from __future__ import annotations

import logging

from pyramid.exceptions import BadCSRFToken
from pyramid.httpexceptions import HTTPBadRequest, HTTPForbidden
from pyramid.renderers import render_to_response
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import exception_view_config, forbidden_view_config, notfound_view_config
from sqlalchemy.exc import DBAPIError, PendingRollbackError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError

from ...authorization import refusal
from ...outage import (
    busy_retry_after_header,
    is_unavailable,
    lost_lock_race,
    retry_after_header,
)
from .common import sign_in_first

log = logging.getLogger(__name__)
ERROR_PAGE = "forum:templates/error.jinja2"


def error_page(request: Request, status: int, heading: str, explanation: str) -> Response:
    response = render_to_response(
        ERROR_PAGE, {"heading": heading, "explanation": explanation}, request=request
    )
    response.status_int = status
    return response


@notfound_view_config()
def not_found(request: Request) -> Response:
    explanation = getattr(request.exception, "detail", None) or "There is nothing at this address."
    return error_page(request, 404, "Not found", explanation)


@forbidden_view_config()
def forbidden(exc: HTTPForbidden, request: Request) -> Response:
    """A permission refused (forum.authorization): sign in first, or a 403 with the rule."""
    if request.identity is None:
        return sign_in_first(request)
    if getattr(exc, "result", None) is not None:  # refused by a view's permission=
        return error_page(request, 403, "Not allowed", refusal(request))
    return error_page(request, 403, "Not allowed", exc.detail or "You may not do that.")


@exception_view_config(BadCSRFToken)
def bad_csrf_token(exc: BadCSRFToken, request: Request) -> Response:
    return error_page(
        request,
        403,
        "This form has expired",
        "The form was sent without a valid token (it may be old, or come from another site). "
        "Go back, reload the page and try again.",
    )


@exception_view_config(HTTPBadRequest)
def bad_request(exc: HTTPBadRequest, request: Request) -> Response:
    return error_page(request, 400, "Bad request", exc.detail or "The request made no sense.")


@exception_view_config(UnicodeDecodeError)
def not_utf8(exc: UnicodeDecodeError, request: Request) -> Response:
    # A query string, form or path that is not UTF-8 (WebOb decodes it on first use).
    # Plain: the layout would read the same undecodable request again.
    log.info("request not valid UTF-8: %s %s", request.method, request.path_info_peek())
    response = render_to_response(
        "forum:templates/bad_encoding.jinja2", {"plain": True}, request=request
    )
    response.status_int = 400
    return response


@exception_view_config(StaleDataError)
def changed_meanwhile(exc: StaleDataError, request: Request) -> Response:
    return error_page(
        request, 409, "Changed meanwhile", "Someone changed this at the same moment. Try again."
    )


def plain_page(request: Request, template: str, status: int, headers: dict[str, str]) -> Response:
    # No database, so no layout (it shows who is signed in): the plain page.
    response = render_to_response(template, {"plain": True}, request=request)
    response.status_int = status
    response.headers.update(headers)
    return response


@exception_view_config(DBAPIError)  # OperationalError, InterfaceError, ...
@exception_view_config(PoolTimeout)
@exception_view_config(PendingRollbackError)
def database_error(exc: Exception, request: Request) -> Response:
    if lost_lock_race(exc):
        # A deadlock or serialization failure that survived every retry: the API's 503 "busy".
        log.warning("lost a lock race on every attempt: %s %s", request.method, request.path)
        return plain_page(request, "forum:templates/busy.jinja2", 503, busy_retry_after_header())
    if is_unavailable(exc):
        # A lost connection met at COMMIT is the one case that could also hide a bug: traceback.
        log.warning(
            "database unavailable on %s %s: answered 503",
            request.method,
            request.path,
            exc_info=isinstance(exc, PendingRollbackError),
        )
        return plain_page(request, "forum:templates/unavailable.jinja2", 503, retry_after_header())
    return server_error(exc, request)


@exception_view_config(Exception)
def server_error(exc: Exception, request: Request) -> Response:
    # No database, no layout: this page must render even when those are what failed.
    log.exception("unhandled error on %s %s", request.method, request.path)
    response = render_to_response(
        "forum:templates/server_error.jinja2", {"plain": True}, request=request
    )
    response.status_int = 500
    return response
