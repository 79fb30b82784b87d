"""Signing in, throttled: the one path the page and the API share.

The account's attempts are serialized (an advisory lock until commit), the
throttle is consulted before the password is checked, a failure is recorded in
the request's own transaction (so the caller must answer without aborting it),
and a success clears the account's failures.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from ..models import User
from ..passwords import PasswordHasher
from ..settings import ForumSettings
from . import accounts, throttle

log = logging.getLogger(__name__)


class TooManyAttempts(Exception):
    """Refused without checking the password; try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed sign-ins; try again in {retry_after} seconds")
        self.retry_after = retry_after


def sign_in(
    session: Session,
    hasher: PasswordHasher,
    settings: ForumSettings,
    username: object,
    password: object,
    client_address: str | None,
) -> User | None:
    """The user these credentials name, None for wrong ones; raises TooManyAttempts."""
    account = throttle.account_key(username)
    client = throttle.address_key(client_address)
    account_rule, address_rule = throttle.rules(settings)
    throttle.lock_account(session, account)
    refused = throttle.check(session, account_rule, address_rule, account, client)
    if refused is not None:
        log.warning(
            "sign-in throttled: %s has %d failures in the window; account %r from %s "
            "must wait %d s",
            refused.key,
            refused.failures,
            account,
            client,
            refused.retry_after,
        )
        raise TooManyAttempts(refused.retry_after)
    user = accounts.authenticate(session, hasher, username, password)
    if user is None:
        throttle.record_failure(session, account, client, settings.signin_window_seconds)
        log.info("failed sign-in for account %r from %s", account, client)
        return None
    throttle.clear_account(session, account)
    return user
