"""Sign-in throttling: 5 failures in 15 minutes, then 429 with Retry-After and growing delays.

The throttle's clock is moved forward by hand instead of sleeping.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session
from webtest import TestApp

from forum.models import TEST_CONNECTION_KEY
from forum.services import throttle

from .factories import TEST_PASSWORD, make_user
from .page_browser import Browser

ATTACKER = "192.0.2.66"
OTHER_ADDRESS = "198.51.100.7"
WRONG = "not the password"


class Clock:
    def __init__(self) -> None:
        self.moment = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(throttle, "now", clock)
    return clock


@pytest.fixture
def users(dbsession: Session) -> None:
    for name in ("alice", "bob", "carol"):
        make_user(dbsession, name)
    dbsession.commit()


@pytest.fixture
def client(app, connection, users, clock):
    """Sign-in attempts from a given address."""

    def attempt(username: str, password: str, status: int, address: str = ATTACKER):
        app_client = TestApp(
            app, extra_environ={TEST_CONNECTION_KEY: connection, "REMOTE_ADDR": address}
        )
        return app_client.post_json(
            "/api/session", {"username": username, "password": password}, status=status
        )

    return attempt


def fail_times(client, count: int, username: str = "alice", address: str = ATTACKER) -> None:
    for _ in range(count):
        assert client(username, WRONG, 401, address).json["error"]["code"] == "bad_credentials"


def test_five_failures_then_429_with_retry_after_even_for_the_right_password(client, clock, caplog):
    fail_times(client, 5)
    with caplog.at_level(logging.WARNING, logger="forum.services.sign_in"):
        refused = client("alice", TEST_PASSWORD, 429)
    assert refused.headers["Retry-After"] == "5"
    assert refused.json["error"]["code"] == "too_many_attempts"
    assert "sign-in throttled" in caplog.text and "'alice'" in caplog.text
    # From another address too: the account itself is throttled.
    assert client("alice", TEST_PASSWORD, 429, OTHER_ADDRESS).headers["Retry-After"] == "5"


def test_delays_grow_but_stay_short(client, clock):
    fail_times(client, 5)
    waits = []
    for _ in range(6):
        wait = int(client("alice", WRONG, 429).headers["Retry-After"])
        waits.append(wait)
        clock.advance(wait)
        fail_times(client, 1)  # the one attempt the wait allows
    assert waits == [5, 10, 20, 40, 60, 60]  # capped by forum.signin_max_delay_seconds


def test_a_real_user_gets_in_after_the_wait_and_the_count_resets(client, clock):
    fail_times(client, 5)
    clock.advance(5)
    assert client("alice", TEST_PASSWORD, 200, OTHER_ADDRESS).json["user"]["username"] == "alice"
    fail_times(client, 4, address=OTHER_ADDRESS)  # a fresh count: four more are plain 401s
    client("alice", TEST_PASSWORD, 200, OTHER_ADDRESS)


def test_another_account_is_unaffected(client, clock):
    fail_times(client, 5)
    client("alice", TEST_PASSWORD, 429)
    client("bob", TEST_PASSWORD, 200)  # same address, another account
    fail_times(client, 1, username="bob")


def test_failures_leave_the_window_after_fifteen_minutes(client, clock):
    fail_times(client, 4)
    clock.advance(15 * 60 + 1)
    fail_times(client, 4)
    client("alice", TEST_PASSWORD, 200)


def test_one_address_guessing_many_accounts_is_throttled(client, clock):
    names = ["alice", "bob", "carol", "nobody", "nobody-else"]
    for index in range(20):  # forum.signin_address_failure_limit
        fail_times(client, 1, username=names[index % len(names)])
    assert client("zed", WRONG, 429).headers["Retry-After"] == "5"
    client("carol", TEST_PASSWORD, 200, OTHER_ADDRESS)  # others elsewhere sign in as usual


def test_unknown_names_are_throttled_like_real_ones(client, clock):
    fail_times(client, 5, username="nobody")
    assert client("nobody", WRONG, 429).headers["Retry-After"] == "5"


def test_odd_usernames_are_plain_failures(client, clock):
    for odd in ("al\x00ice", "x" * 5000, "  ALICE  \t", "\u202e" * 40):
        client(odd, WRONG, 401)
    fail_times(client, 3)  # with "al\x00ice" and "  ALICE  ", five for alice
    assert client("alice", TEST_PASSWORD, 429).headers["Retry-After"] == "5"


def test_the_sign_in_page_is_throttled_too(app, connection, users, clock):
    browser = Browser(
        TestApp(app, extra_environ={TEST_CONNECTION_KEY: connection, "REMOTE_ADDR": ATTACKER})
    )
    for _ in range(5):
        form = browser.form(browser.get("/login"), "/login")
        form["username"], form["password"] = "alice", WRONG
        assert "Wrong username or password" in form.submit(status=422).text
    form = browser.form(browser.get("/login"), "/login")
    form["username"], form["password"] = "alice", TEST_PASSWORD
    refused = form.submit(status=429)
    assert refused.headers["Retry-After"] == "5"
    assert browser.text(refused, "#password-error") == (
        "Too many failed sign-ins. Wait 5 seconds and try again."
    )
    assert "signed in as" not in refused.text
    clock.advance(5)
    assert "signed in as" in browser.sign_in("alice").text


@pytest.mark.parametrize(
    ("failures", "delay"), [(0, 0), (4, 0), (5, 5), (6, 10), (8, 40), (9, 60), (10**6, 60)]
)
def test_the_delay_rule(failures, delay):
    rule = throttle.Rule(limit=5, window_seconds=900, first_delay_seconds=5, max_delay_seconds=60)
    assert rule.delay(failures) == delay
