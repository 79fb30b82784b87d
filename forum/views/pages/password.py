"""The change-your-password page (signed in; the current password is asked for first)."""

from __future__ import annotations

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config

from ...services.accounts import PASSWORD_MIN_CHARS
from ...services.password_change import change_password, password_change_errors
from .common import form_errors, signed_in

PASSWORD = "forum:templates/password.jinja2"


@view_config(route_name="password", request_method="GET", renderer=PASSWORD)
def password_form(request: Request) -> dict:
    signed_in(request)
    return {"password_min": PASSWORD_MIN_CHARS}


@view_config(route_name="password", request_method="POST", renderer=PASSWORD)
def password_change(request: Request):
    user = signed_in(request)
    hasher = request.registry["password_hasher"]
    new = request.POST.get("new_password")
    errors = password_change_errors(
        hasher,
        user,
        request.POST.get("current_password"),
        new,
        request.POST.get("new_password_again"),
    )
    if errors:
        return form_errors(request, errors, password_min=PASSWORD_MIN_CHARS)
    change_password(request.dbsession, hasher, user, new)
    request.session.flash("Your password is changed.")
    return HTTPSeeOther(request.route_path("user", name=user.username))
