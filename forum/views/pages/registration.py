"""Every problem with a registration form at once, each for its own field.

A person who picks a taken name and a short password learns both in one go,
not one per submit.
"""

from __future__ import annotations

from pyramid.request import Request

from ...services import accounts
from ...services.errors import InvalidField


def registration_errors(request: Request) -> dict[str, str]:
    """Field name -> message, for each field of the register form that is wrong."""
    errors: dict[str, str] = {}
    password = request.POST.get("password")
    try:
        name = accounts.normalize_username(request.POST.get("username"))
    except InvalidField as error:
        errors["username"] = error.message.capitalize() + "."
    else:
        if accounts.find_user(request.dbsession, name) is not None:
            errors["username"] = f"The username {name!r} is taken."
    try:
        accounts.check_password(password)
    except InvalidField as error:
        errors["password"] = error.message.capitalize() + "."
    if password != request.POST.get("password_again"):
        errors["password_again"] = "The two passwords differ."
    return errors
