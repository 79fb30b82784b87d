"""Accounts: the username and password rules, registration and sign-in."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import User
from ..models.user import ROLES
from ..passwords import PasswordHasher
from .errors import Conflict, InvalidField

USERNAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_.-]{2,31}")
PASSWORD_MIN_CHARS = 10
PASSWORD_MAX_CHARS = 1024

USERNAME_RULE = (
    "username must be 3 to 32 characters: letters, digits, '.', '_' or '-', "
    "starting with a letter or digit"
)


def normalize_username(value: object) -> str:
    """The stored form of a username: case-insensitive, so lower-cased. Raises InvalidField."""
    if value is None:
        raise InvalidField("username", "username is required")
    if not isinstance(value, str):
        raise InvalidField("username", "username must be a string")
    username = value.strip().lower()
    if not USERNAME_PATTERN.fullmatch(username):
        raise InvalidField("username", USERNAME_RULE)
    return username


def check_password(value: object) -> str:
    if value is None:
        raise InvalidField("password", "password is required")
    if not isinstance(value, str):
        raise InvalidField("password", "password must be a string")
    if "\x00" in value:
        raise InvalidField("password", "password must not contain NUL characters")
    if len(value) < PASSWORD_MIN_CHARS:
        raise InvalidField("password", f"password must be at least {PASSWORD_MIN_CHARS} characters")
    if len(value) > PASSWORD_MAX_CHARS:
        raise InvalidField("password", f"password is longer than {PASSWORD_MAX_CHARS} characters")
    return value


def find_user(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).one_or_none()


def create_user(
    session: Session,
    hasher: PasswordHasher,
    username: object,
    password: object,
    role: str = "member",
) -> User:
    """Register an account; raises InvalidField or Conflict (username taken)."""
    name = normalize_username(username)
    secret = check_password(password)
    if role not in ROLES:
        raise InvalidField("role", f"role must be one of: {', '.join(ROLES)}")
    if find_user(session, name) is not None:
        raise Conflict(f"the username {name!r} is taken")
    user = User(username=name, password_hash=hasher.hash(secret), role=role)
    session.add(user)
    try:
        session.flush()
    except IntegrityError:  # two registrations racing for one name
        raise Conflict(f"the username {name!r} is taken") from None
    return user


def authenticate(
    session: Session, hasher: PasswordHasher, username: object, password: object
) -> User | None:
    """The user whose credentials these are, or None. Takes as long for unknown names.

    A disabled account is refused like a wrong password, after the same work.
    """
    if not isinstance(username, str) or not isinstance(password, str):
        return None
    name = username.strip().lower()
    # A name no account can have (a NUL, too long) is not looked up, but costs the same.
    user = find_user(session, name) if USERNAME_PATTERN.fullmatch(name) else None
    if not hasher.verify(user.password_hash if user else None, password):
        return None
    if user is None or user.is_disabled:
        return None
    return user


def end_sessions(session: Session, user: User) -> None:
    """Sign the user out everywhere: every session cookie made before now stops working."""
    user.session_generation = User.session_generation + 1
    session.flush()
    session.refresh(user, ["session_generation"])


def set_password(session: Session, hasher: PasswordHasher, user: User, password: object) -> None:
    """A new password (same rules as registration); every existing session ends."""
    user.password_hash = hasher.hash(check_password(password))
    end_sessions(session, user)


def set_disabled(session: Session, user: User, disabled: bool) -> None:
    """Disable (sessions end, sign-in refused) or enable an account."""
    if disabled and user.disabled_at is None:
        user.disabled_at = datetime.now(UTC)
        end_sessions(session, user)
    elif not disabled:
        user.disabled_at = None
        session.flush()
