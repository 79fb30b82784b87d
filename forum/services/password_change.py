"""Changing your own password: the current one first, then the new one by the same rules."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..models import User
from ..passwords import PasswordHasher
from .accounts import check_password
from .errors import InvalidField


def password_change_errors(
    hasher: PasswordHasher, user: User, current: object, new: object, again: object
) -> dict[str, str]:
    """Field name -> message for each field of the change that is wrong (all at once)."""
    errors: dict[str, str] = {}
    if not isinstance(current, str) or not hasher.verify(user.password_hash, current):
        errors["current_password"] = "That is not your current password."
    try:
        check_password(new)
    except InvalidField as error:
        errors["new_password"] = error.message.replace("password", "New password", 1) + "."
    if new != again:
        errors["new_password_again"] = "The two new passwords differ."
    return errors


def change_password(session: Session, hasher: PasswordHasher, user: User, new: str) -> None:
    """Store ``new`` (already checked) as ``user``'s password."""
    user.password_hash = hasher.hash(check_password(new))
    session.flush()
