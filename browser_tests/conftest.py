"""The browser test reuses the suite's database fixtures (a fresh, migrated test database)."""

pytest_plugins = ["tests.conftest"]
