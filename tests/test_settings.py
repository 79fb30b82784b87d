"""Settings: environment overrides, and a wrong value stops start-up with a clear message."""

from __future__ import annotations

import pytest
from pyramid.exceptions import ConfigurationError

from forum import counting, main
from forum.settings import parse_settings, with_environment

from .harness import TEST_SETTINGS

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
        ("forum.counter_apply", "later", "choose one of: flush, commit"),
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
        ("forum.parallel_queries", "sometimes", "choose one of: true, false"),
        ("forum.parallel_workers", "0", "forum.parallel_workers = 0 must be at least 1"),
        ("forum.parallel_workers", "many", "is not a whole number"),
        ("forum.cache_backend", "memcached", "choose one of: memory, redis, none"),
        ("forum.cache_url", "127.0.0.1:6379", "write a Redis URL starting with redis://"),
        ("forum.cache_expiration_seconds", "0", "must be at least 1"),
        ("forum.cache_search_seconds", "half a minute", "is not a whole number"),
    ],
)
def test_a_wrong_value_stops_start_up(name, value, message):
    with pytest.raises(ConfigurationError) as raised:
        parse_settings({"forum.session_secret": "s", name: value})
    assert name in str(raised.value)
    assert message in str(raised.value)


def test_parallel_queries_are_off_unless_asked_for():
    assert not parse_settings({"forum.session_secret": "s"}).parallel_queries
    on = parse_settings(
        with_environment(
            {"forum.session_secret": "s"},
            {"FORUM_PARALLEL_QUERIES": "true", "FORUM_PARALLEL_WORKERS": "3"},
        )
    )
    assert (on.parallel_queries, on.parallel_workers) == (True, 3)


def test_an_unknown_setting_is_ignored():
    # FORUM_CACHE_BACKEND and friends from other deployments must not stop start-up
    parse_settings(with_environment({"forum.session_secret": "s"}, {"FORUM_SOMETHING_NEW": "x"}))


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


@pytest.mark.parametrize("name", list(counting.STRATEGIES))
def test_the_app_installs_the_chosen_strategy_only(database_url, monkeypatch, name):
    monkeypatch.setenv("FORUM_COUNTER_STRATEGY", name)
    factory = main({}, **TEST_SETTINGS).registry["dbsession_factory"]
    assert counting.active(factory).name == name
    assert issubclass(factory.class_, counting.GuardedSession)
    others = [s for s in counting.STRATEGIES.values() if s.name != name]
    assert not any(strategy.installed(factory) for strategy in others)


def test_the_cache_settings_default_to_memory_and_read_the_environment():
    assert parse_settings({"forum.session_secret": "s"}).cache_backend == "memory"
    merged = with_environment(
        {"forum.session_secret": "s"},
        {"FORUM_CACHE_BACKEND": "redis", "FORUM_CACHE_URL": "redis://cache.internal:6379/3"},
    )
    settings = parse_settings(merged)
    assert (settings.cache_backend, settings.cache_url) == (
        "redis",
        "redis://cache.internal:6379/3",
    )


# --- where a wrong value came from, said in one line ----------------------------------------


def test_the_message_names_the_environment_variable():
    settings = with_environment({"forum.session_secret": "s"}, {"FORUM_COUNTER_STRATEGY": "x"})
    with pytest.raises(ConfigurationError) as raised:
        parse_settings(settings, {"FORUM_COUNTER_STRATEGY": "x"}, "development.ini")
    assert str(raised.value) == (
        "forum.counter_strategy = 'x' is not valid; choose one of: "
        f"{VALID} (from the environment variable FORUM_COUNTER_STRATEGY)"
    )


def test_the_message_names_the_ini_file():
    with pytest.raises(ConfigurationError) as raised:
        parse_settings(
            {"forum.session_secret": "s", "forum.search_view": "lve"}, {}, "development.ini"
        )
    assert str(raised.value) == (
        "forum.search_view = 'lve' is not valid; choose one of: live, materialized "
        "(from development.ini)"
    )


def test_a_script_says_it_in_one_line_before_touching_the_database(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    ini = Path(__file__).resolve().parent.parent / "development.ini"
    pgdata = tmp_path / "never-made"
    env = {
        **os.environ,
        "FORUM_COUNTER_STRATEGY": "bogus",
        "FORUM_EMBEDDED_PGDATA": str(pgdata),
    }
    env.pop("FORUM_DATABASE_URL", None)
    for script in ("forum-initialize-db", "forum-reconcile", "forum-search-refresh", "pserve"):
        done = subprocess.run(
            [str(Path(sys.executable).parent / script), str(ini)],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert done.returncode == 2, (script, done.stderr)
        assert done.stderr == (
            "forum: forum.counter_strategy = 'bogus' is not valid; choose one of: "
            f"{VALID} (from the environment variable FORUM_COUNTER_STRATEGY)\n"
        ), script
        assert done.stdout == ""
    assert not pgdata.exists()  # no server was started, no migration ran


def test_counter_apply_reaches_the_apps_session_factory():
    """forum.counter_apply = commit: the app's sessions keep the parents' writes for the
    commit (forum/counters/at_commit.py)."""
    from forum.counters.at_commit import APPLY_ATTRIBUTE

    app = main({}, **{**TEST_SETTINGS, "forum.counter_apply": "commit"})
    factory = app.registry["dbsession_factory"]
    assert getattr(factory.class_, APPLY_ATTRIBUTE) == "commit"
    assert counting.active(factory).name == TEST_SETTINGS["forum.counter_strategy"]
