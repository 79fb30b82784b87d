"""405 Method Not Allowed for API routes, naming the methods that are allowed."""

from __future__ import annotations

from pyramid.config import Configurator
from pyramid.request import Request

from .errors import ApiError

ALLOWED = {
    "api.users": "POST",
    "api.session": "GET, POST, DELETE",
    "api.sessions": "DELETE",
    "api.boards": "GET",
    "api.board": "GET",
    "api.board_threads": "GET, POST",
    "api.thread": "GET, DELETE",
    "api.thread_comments": "GET, POST",
    "api.comment": "GET, PATCH, DELETE",
    "api.search": "GET",
}


def method_not_allowed(request: Request):
    allowed = ALLOWED[request.matched_route.name]
    raise ApiError(
        405,
        "method_not_allowed",
        f"{request.method} is not allowed here; use {allowed}",
        Allow=allowed,
    )


def includeme(config: Configurator) -> None:
    # No request_method predicate: Pyramid tries the method-specific views first.
    for route_name in ALLOWED:
        config.add_view(method_not_allowed, route_name=route_name, require_csrf=False)
