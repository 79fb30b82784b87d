"""Settings: environment overrides, and a wrong value stops start-up with a clear message."""

from __future__ import annotations

import pytest
from pyramid.exceptions import ConfigurationError

from forum import events, main
from forum.settings import parse_settings, with_environment

from .conftest import TEST_SETTINGS

VALID = "attribute, before_flush, after_insert"


def test_environment_overrides_the_ini_file():
    merged = with_environment(
        {"forum.counter_strategy": "attribute", "forum.max_message_chars": "10"},
        {"FORUM_COUNTER_STRATEGY": "after_insert", "FORUM_MAX_MESSAGE_CHARS": "50", "HOME": "/"},
    )
    settings = parse_settings({**merged, "forum.session_secret": "s"})
    assert settings.counter_strategy == "after_insert"
    assert settings.max_message_chars == 50


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "forum.counter_strategy",
            "trigger",
            "choose one of: attribute, before_flush, after_insert",
        ),
        ("forum.counter_strategy", "", "choose one of: attribute, before_flush, after_insert"),
        (
            "forum.max_message_chars",
            "lots",
            "forum.max_message_chars = 'lots' is not a whole number",
        ),
        ("forum.max_message_chars", "0", "forum.max_message_chars = 0 must be at least 1"),
        ("forum.session_secure", "maybe", "forum.session_secure = 'maybe' is not valid"),
        ("forum.session_secret", "", "forum.session_secret is empty"),
        ("forum.strict_transport_security", "forever", "is not valid; leave it empty"),
        ("forum.signin_failure_limit", "0", "forum.signin_failure_limit = 0 must be at least 1"),
        ("forum.signin_window_seconds", "soon", "is not a whole number"),
        ("forum.signin_max_delay_seconds", "-5", "must be at least 1"),
        ("forum.signin_first_delay_seconds", "600", "must not exceed"),
    ],
)
def test_a_wrong_value_stops_start_up(name, value, message):
    with pytest.raises(ConfigurationError) as raised:
        parse_settings({"forum.session_secret": "s", name: value})
    assert name in str(raised.value)
    assert message in str(raised.value)


def test_production_refuses_the_development_secret():
    with pytest.raises(ConfigurationError, match="FORUM_SESSION_SECRET"):
        parse_settings(
            {
                "forum.session_secret": "development-only-secret-change-me",
                "forum.session_secure": "true",
            }
        )


def test_unknown_strategy_in_the_environment_stops_the_app(database_url, monkeypatch):
    monkeypatch.setenv("FORUM_COUNTER_STRATEGY", "nope")
    with pytest.raises(ConfigurationError, match=r"forum\.counter_strategy = 'nope'"):
        main({}, **TEST_SETTINGS)


@pytest.mark.parametrize("name", list(events.STRATEGIES))
def test_the_app_installs_the_chosen_strategy_only(database_url, monkeypatch, name):
    monkeypatch.setenv("FORUM_COUNTER_STRATEGY", name)
    factory = main({}, **TEST_SETTINGS).registry["dbsession_factory"]
    assert events.active(factory).name == name
    assert issubclass(factory.class_, events.GuardedSession)
    others = [s for s in events.STRATEGIES.values() if s.name != name]
    assert not any(strategy.installed(factory) for strategy in others)
