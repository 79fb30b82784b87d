"""What the tests and their helper processes share: the checkout, the app's test
settings, and alembic's configuration. (Kept out of conftest.py: a test module
imports from here, never from conftest.)"""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from sqlalchemy import Connection

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config(str(ROOT / "development.ini"))
    config.attributes["configure_logger"] = False
    if connection is not None:
        config.attributes["connection"] = connection
    return config


TEST_SETTINGS = {
    "forum.counter_strategy": "attribute",
    "forum.session_secret": "test-only-secret",
    # Cheap argon2 parameters: the suite signs in often; the ini files use strong ones.
    "forum.argon2_time_cost": "1",
    "forum.argon2_memory_cost": "64",
    "retry.attempts": "3",
    # Each test's data is rolled back behind the app's back, which no cache can see:
    # caching is on only where a test asks for it (tests/test_cache*.py).
    "forum.cache_backend": "none",
}
