"""Accounts and sessions: register, sign in (which hands out the CSRF token), sign out.

A failed sign-in is answered with a returned 401, not a raised one: the
failure it records for throttling must commit with the request.
"""

from __future__ import annotations

from pyramid.csrf import get_csrf_token
from pyramid.request import Request
from pyramid.security import forget, remember
from pyramid.view import view_config

from ...services import accounts
from ...services.sign_in import TooManyAttempts
from ...services.sign_in import sign_in as throttled_sign_in
from .errors import ApiError, error_response
from .inputs import json_body, no_content, signed_in
from .serialize import user_json


def _hasher(request: Request):
    return request.registry["password_hasher"]


# Made before a session exists, so no CSRF token: JSON only, which a plain
# cross-site form cannot send (fetch with this type needs a CORS preflight).
@view_config(route_name="api.users", request_method="POST", renderer="json", require_csrf=False)
def register(request: Request) -> dict:
    body = json_body(request)
    user = accounts.create_user(
        request.dbsession, _hasher(request), body.get("username"), body.get("password")
    )
    request.response.status_int = 201
    return user_json(user)


@view_config(route_name="api.session", request_method="POST", renderer="json", require_csrf=False)
def sign_in(request: Request) -> dict:
    body = json_body(request)
    for field in ("username", "password"):
        if not isinstance(body.get(field), str):
            raise ApiError(422, "invalid", f"{field} is required and must be a string")
    try:
        user = throttled_sign_in(
            request.dbsession,
            _hasher(request),
            request.registry.settings["forum.settings"],
            body["username"],
            body["password"],
            request.client_addr,
        )
    except TooManyAttempts as refused:
        raise ApiError(
            429, "too_many_attempts", str(refused), **{"Retry-After": str(refused.retry_after)}
        ) from None
    if user is None:
        return error_response(request, 401, "bad_credentials", "wrong username or password")
    remember(request, user.id)
    return {"user": user_json(user), "csrf_token": get_csrf_token(request)}


@view_config(route_name="api.session", request_method="GET", renderer="json")
def current_session(request: Request) -> dict:
    """Who is signed in (or null), with the session's CSRF token."""
    user = request.identity
    return {
        "user": user_json(user) if user else None,
        "csrf_token": get_csrf_token(request) if user else None,
    }


@view_config(route_name="api.session", request_method="DELETE")
def sign_out(request: Request):
    forget(request)
    return no_content(request)


@view_config(route_name="api.sessions", request_method="DELETE")
def sign_out_everywhere(request: Request):
    """End every session of the signed-in user, in every browser, this one included."""
    accounts.end_sessions(request.dbsession, signed_in(request))
    forget(request)
    return no_content(request)
