"""Sign-in throttling: a sliding window of failures per account and per client address.

After ``limit`` failures inside the window, each further attempt must wait
``first_delay * 2 ** (failures - limit)`` seconds after the latest failure,
never more than ``max_delay``: the delays grow for a guesser but stay short,
so an attacker who knows a username cannot lock its owner out for long.
Attempts refused with 429 are not failures (the password was not checked), so
they do not lengthen the wait. A successful sign-in clears the account's
failures; the address's failures only age out of the window, otherwise a
guesser could clear them by signing in to an account of their own.

Accounts are the lower-cased name tried, whether or not it exists, so the
answer never tells which names exist. The per-address limit is higher than the
per-account one, because many people may share one address.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from ..models import SignInFailure
from ..models.sign_in_failure import ACCOUNT_CHARS, ADDRESS_CHARS

#: The doubling is capped far beyond any sensible max_delay, so 2 ** n stays small.
MAX_DOUBLINGS = 20


def now() -> datetime:
    """The clock throttling reads (tests move it forward)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Rule:
    """How many failures a key may have in the window, and the delays after that."""

    limit: int
    window_seconds: int
    first_delay_seconds: int
    max_delay_seconds: int

    def delay(self, failures: int) -> float:
        """Seconds to wait after the latest of ``failures`` failures (0 below the limit)."""
        if failures < self.limit:
            return 0.0
        doublings = min(failures - self.limit, MAX_DOUBLINGS)
        return float(min(self.max_delay_seconds, self.first_delay_seconds * 2**doublings))


@dataclass(frozen=True)
class Throttled:
    """Why an attempt is refused: which key, how many failures, seconds to wait."""

    key: str
    failures: int
    retry_after: int


def account_key(username: object) -> str:
    """The account an attempt is for: the lower-cased name, cut to the column's size."""
    name = username.strip().lower() if isinstance(username, str) else ""
    return name.replace("\x00", "")[:ACCOUNT_CHARS]


def address_key(address: str | None) -> str:
    return (address or "unknown")[:ADDRESS_CHARS]


def lock_account(session: Session, account: str) -> None:
    """Serialize attempts on one account until commit, so parallel guesses are counted too."""
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": "forum.sign_in:" + account},
    )


def _window(session: Session, column, key: str, since: datetime) -> tuple[int, datetime | None]:
    count, latest = session.execute(
        select(func.count(), func.max(SignInFailure.failed_at)).where(
            column == key, SignInFailure.failed_at > since
        )
    ).one()
    return count, latest


def check(
    session: Session, account: Rule, address: Rule, account_name: str, client: str
) -> Throttled | None:
    """Whether this attempt must wait, and for how long (the longer of the two keys)."""
    moment = now()
    worst: Throttled | None = None
    for rule, column, key, label in (
        (account, SignInFailure.account, account_name, f"account {account_name!r}"),
        (address, SignInFailure.client_address, client, f"address {client}"),
    ):
        since = moment - timedelta(seconds=rule.window_seconds)
        failures, latest = _window(session, column, key, since)
        if latest is None:
            continue
        wait = (latest + timedelta(seconds=rule.delay(failures)) - moment).total_seconds()
        if wait > 0 and (worst is None or wait > worst.retry_after):
            worst = Throttled(label, failures, max(1, math.ceil(wait)))
    return worst


def record_failure(session: Session, account_name: str, client: str, window_seconds: int) -> None:
    """Count a failed attempt, and forget failures that left every window."""
    moment = now()
    session.execute(
        delete(SignInFailure).where(
            SignInFailure.failed_at < moment - timedelta(seconds=window_seconds)
        )
    )
    session.add(SignInFailure(account=account_name, client_address=client, failed_at=moment))
    session.flush()


def clear_account(session: Session, account_name: str) -> None:
    """A successful sign-in: the account starts afresh."""
    session.execute(delete(SignInFailure).where(SignInFailure.account == account_name))


def rules(settings) -> tuple[Rule, Rule]:
    """The account rule and the address rule from the parsed ``forum.signin_*`` settings."""

    def rule(limit: int) -> Rule:
        return Rule(
            limit=limit,
            window_seconds=settings.signin_window_seconds,
            first_delay_seconds=settings.signin_first_delay_seconds,
            max_delay_seconds=settings.signin_max_delay_seconds,
        )

    return rule(settings.signin_failure_limit), rule(settings.signin_address_failure_limit)
