"""Register, sign in and sign out in the browser."""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.security import forget, remember
from pyramid.view import view_config

from ...services import accounts
from ...services.errors import Conflict, InvalidField
from ...services.sign_in import TooManyAttempts, sign_in
from .common import form_error, form_errors, local_path, plural, signed_in
from .registration import registration_errors

LOGIN = "forum:templates/login.jinja2"
REGISTER = "forum:templates/register.jinja2"


@view_config(route_name="login", request_method="GET", renderer=LOGIN)
def login_form(request: Request) -> dict:
    return {"next_path": local_path(request.GET.get("next"))}


@view_config(route_name="login", request_method="POST", renderer=LOGIN)
def login(request: Request):
    next_path = local_path(request.POST.get("next"))
    try:
        user = sign_in(
            request.dbsession,
            request.registry["password_hasher"],
            request.registry.settings["forum.settings"],
            request.POST.get("username"),
            request.POST.get("password"),
            request.client_addr,
        )
    except TooManyAttempts as refused:
        request.response.headers["Retry-After"] = str(refused.retry_after)
        message = (
            f"Too many failed sign-ins. Wait {plural_seconds(refused.retry_after)} and try again."
        )
        return form_error(request, "password", message, status=429, next_path=next_path)
    if user is None:
        return form_error(
            request,
            "password",
            "Wrong username or password.",
            keep_changes=True,  # the failure is recorded for throttling
            next_path=next_path,
        )
    remember(request, user.id)
    request.session.flash(f"Welcome back, {user.username}.")
    return HTTPSeeOther(next_path)


@view_config(route_name="register", request_method="GET", renderer=REGISTER)
def register_form(request: Request) -> dict:
    return {"password_min": accounts.PASSWORD_MIN_CHARS}


@view_config(route_name="register", request_method="POST", renderer=REGISTER)
def register(request: Request):
    context: dict[str, Any] = {"password_min": accounts.PASSWORD_MIN_CHARS}
    errors = registration_errors(request)
    if errors:
        return form_errors(request, errors, **context)
    try:
        user = accounts.create_user(
            request.dbsession,
            request.registry["password_hasher"],
            request.POST.get("username"),
            request.POST.get("password"),
        )
    except InvalidField as error:
        return form_error(request, error.field, error.message.capitalize() + ".", **context)
    except Conflict as error:  # registered by someone else a moment ago
        return form_error(request, "username", str(error).capitalize() + ".", **context)
    remember(request, user.id)
    request.session.flash(f"Welcome, {user.username}! You are signed in.")
    return HTTPSeeOther(request.route_path("home"))


@view_config(route_name="logout", request_method="GET", renderer="forum:templates/logout.jinja2")
def logout_form(request: Request) -> dict:
    return {}


@view_config(route_name="logout", request_method="POST")
def logout(request: Request):
    forget(request)
    request.session.flash("You are signed out.")
    return HTTPSeeOther(request.route_path("home"))


@view_config(route_name="logout.everywhere", request_method="POST")
def logout_everywhere(request: Request):
    """End every session of this account: other browsers, copied cookies, this one."""
    accounts.end_sessions(request.dbsession, signed_in(request))
    forget(request)
    request.session.flash("You are signed out everywhere.")
    return HTTPSeeOther(request.route_path("home"))


def plural_seconds(seconds: int) -> str:
    return f"{seconds} {plural(seconds, 'second')}"
