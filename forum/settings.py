"""Settings: parsed once at start-up into typed values, environment first.

Every ``forum.*`` setting may be overridden by an environment variable named
``FORUM_`` + the setting's name upper-cased (``forum.counter_strategy`` ->
``FORUM_COUNTER_STRATEGY``). A value that makes no sense stops start-up with a
message naming the setting, where its value came from (the ini file, the
environment, or the default) and what it accepts, instead of surprising a
request later. The console scripts (and so ``make run``) check the settings
before they touch the database (``forum.scripts.common.check_settings``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pyramid.exceptions import ConfigurationError

COUNTER_STRATEGIES = ("attribute", "before_flush", "after_insert")
#: When the parents' counter UPDATEs are issued: at each flush, or just before the commit.
COUNTER_APPLY = ("flush", "commit")
SEARCH_VIEWS = ("live", "materialized")
SEARCH_REFRESH_RUNNERS = ("inline", "background", "celery")
CACHE_BACKENDS = ("memory", "redis", "none")
#: The URL schemes redis-py connects with (forum.cache_url).
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")

#: What Strict-Transport-Security may say: a max-age, then the two standard flags.
HSTS_PATTERN = re.compile(r"max-age=\d+(; ?includeSubDomains)?(; ?preload)?", re.IGNORECASE)

#: A placeholder secret shipped in development.ini; production refuses it.
DEVELOPMENT_SECRET = "development-only-secret-change-me"


class SettingError(ConfigurationError):
    """A ``forum.*`` setting with a value that makes no sense; ``name`` is the setting."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


def setting_source(
    name: str,
    settings: Mapping[str, str],
    environ: Mapping[str, str] | None = None,
    ini: str = "the ini file",
) -> str:
    """Where ``name``'s value came from, in words: an environment variable, the ini, the default."""
    environ = os.environ if environ is None else environ
    variable = "FORUM_" + name.removeprefix("forum.").upper()
    if variable in environ:
        return f"from the environment variable {variable}"
    if name in settings:
        return f"from {ini}"
    return "the default"


def with_environment(
    settings: Mapping[str, str], environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Return ``settings`` with ``FORUM_*`` environment variables applied on top.

    Strings all, until the caller adds the parsed ``ForumSettings`` under
    ``forum.settings`` (Pyramid's settings are a dict of anything).
    """
    environ = os.environ if environ is None else environ
    merged = dict(settings)
    for name, value in environ.items():
        if name.startswith("FORUM_") and name != "FORUM_DATABASE_URL":
            merged["forum." + name[len("FORUM_") :].lower()] = value
    return merged


@dataclass(frozen=True)
class ForumSettings:
    """The typed view of the ``forum.*`` settings the application uses."""

    counter_strategy: str
    counter_apply: str
    max_message_chars: int
    session_secret: str
    session_secure: bool
    argon2_time_cost: int
    argon2_memory_cost: int
    page_size_limit: int
    search_view: str
    search_refresh: str
    celery_broker_url: str
    search_debounce_seconds: float
    search_safety_interval_seconds: float
    search_timeout_ms: int
    strict_transport_security: str
    signin_failure_limit: int
    signin_address_failure_limit: int
    signin_window_seconds: int
    signin_first_delay_seconds: int
    signin_max_delay_seconds: int
    parallel_queries: bool = False
    parallel_workers: int = 4
    cache_backend: str = "memory"
    cache_url: str = "redis://127.0.0.1:6379/1"
    cache_prefix: str = "forum:"
    cache_expiration_seconds: int = 600
    cache_search_seconds: int = 30


def _choice(settings: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    value = str(settings.get(name, default)).strip()
    if value not in choices:
        raise SettingError(
            name, f"{name} = {value!r} is not valid; choose one of: {', '.join(choices)}"
        )
    return value


def _integer(settings: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = settings.get(name, default)
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise SettingError(name, f"{name} = {raw!r} is not a whole number") from None
    if value < minimum:
        raise SettingError(name, f"{name} = {value} must be at least {minimum}")
    return value


def _seconds(settings: Mapping[str, str], name: str, default: float) -> float:
    raw = settings.get(name, default)
    try:
        value = float(str(raw).strip())
    except ValueError:
        raise SettingError(name, f"{name} = {raw!r} is not a number of seconds") from None
    if value < 0:
        raise SettingError(name, f"{name} = {value} must not be negative")
    return value


def _boolean(settings: Mapping[str, str], name: str, default: bool) -> bool:
    raw = str(settings.get(name, default)).strip().lower()
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingError(name, f"{name} = {raw!r} is not valid; choose one of: true, false")


def _hsts(settings: Mapping[str, str]) -> str:
    value = str(settings.get("forum.strict_transport_security", "")).strip()
    if value and not HSTS_PATTERN.fullmatch(value):
        raise SettingError(
            "forum.strict_transport_security",
            f"forum.strict_transport_security = {value!r} is not valid; leave it empty or "
            "write max-age=SECONDS, optionally followed by ; includeSubDomains and ; preload",
        )
    return value


def _redis_url(settings: Mapping[str, str], name: str, default: str) -> str:
    value = str(settings.get(name, default)).strip()
    if not value.startswith(REDIS_SCHEMES):
        raise SettingError(
            name,
            f"{name} = {value!r} is not valid; write a Redis URL starting with "
            + ", ".join(REDIS_SCHEMES),
        )
    return value


def parse_settings(
    settings: Mapping[str, str],
    environ: Mapping[str, str] | None = None,
    ini: str = "the ini file",
) -> ForumSettings:
    """Validate the ``forum.*`` settings (environment already applied).

    A wrong value raises SettingError whose one-line message also says where
    the value came from (``environ`` and ``ini`` name the candidates).
    """
    try:
        return _parse(settings)
    except SettingError as error:
        source = setting_source(error.name, settings, environ, ini)
        raise SettingError(error.name, f"{error.message} ({source})") from None


def _parse(settings: Mapping[str, str]) -> ForumSettings:
    secret = str(settings.get("forum.session_secret", "")).strip()
    secure = _boolean(settings, "forum.session_secure", False)
    if not secret:
        raise SettingError(
            "forum.session_secret",
            "forum.session_secret is empty; set it in the ini file or FORUM_SESSION_SECRET",
        )
    if secure and secret == DEVELOPMENT_SECRET:
        raise SettingError(
            "forum.session_secret",
            "forum.session_secret is the development placeholder; set FORUM_SESSION_SECRET "
            "to a long random value for production",
        )
    first_delay = _integer(settings, "forum.signin_first_delay_seconds", 5)
    max_delay = _integer(settings, "forum.signin_max_delay_seconds", 60)
    if first_delay > max_delay:
        raise SettingError(
            "forum.signin_first_delay_seconds",
            f"forum.signin_first_delay_seconds = {first_delay} must not exceed "
            f"forum.signin_max_delay_seconds = {max_delay}",
        )
    return ForumSettings(
        counter_strategy=_choice(
            settings, "forum.counter_strategy", COUNTER_STRATEGIES, "attribute"
        ),
        counter_apply=_choice(settings, "forum.counter_apply", COUNTER_APPLY, "flush"),
        max_message_chars=_integer(settings, "forum.max_message_chars", 20000),
        session_secret=secret,
        session_secure=secure,
        argon2_time_cost=_integer(settings, "forum.argon2_time_cost", 3),
        argon2_memory_cost=_integer(settings, "forum.argon2_memory_cost", 65536, minimum=32),
        page_size_limit=_integer(settings, "forum.page_size_limit", 100),
        search_view=_choice(settings, "forum.search_view", SEARCH_VIEWS, "live"),
        search_refresh=_choice(
            settings, "forum.search_refresh", SEARCH_REFRESH_RUNNERS, "background"
        ),
        celery_broker_url=str(
            settings.get("forum.celery_broker_url", "redis://127.0.0.1:6379/0")
        ).strip(),
        search_debounce_seconds=_seconds(settings, "forum.search_debounce_seconds", 1.0),
        search_safety_interval_seconds=_seconds(
            settings, "forum.search_safety_interval_seconds", 300.0
        ),
        search_timeout_ms=_integer(settings, "forum.search_timeout_ms", 3000),
        strict_transport_security=_hsts(settings),
        signin_failure_limit=_integer(settings, "forum.signin_failure_limit", 5),
        signin_address_failure_limit=_integer(settings, "forum.signin_address_failure_limit", 20),
        signin_window_seconds=_integer(settings, "forum.signin_window_seconds", 900),
        signin_first_delay_seconds=first_delay,
        signin_max_delay_seconds=max_delay,
        parallel_queries=_boolean(settings, "forum.parallel_queries", False),
        parallel_workers=_integer(settings, "forum.parallel_workers", 4),
        cache_backend=_choice(settings, "forum.cache_backend", CACHE_BACKENDS, "memory"),
        cache_url=_redis_url(settings, "forum.cache_url", "redis://127.0.0.1:6379/1"),
        cache_prefix=str(settings.get("forum.cache_prefix", "forum:")).strip(),
        cache_expiration_seconds=_integer(settings, "forum.cache_expiration_seconds", 600),
        cache_search_seconds=_integer(settings, "forum.cache_search_seconds", 30),
    )
