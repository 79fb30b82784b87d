"""Migrations are the schema: up, down, up again, and the models agree with the result."""

from __future__ import annotations

import os

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import URL

from alembic import command
from forum.database import drop_database, ensure_database
from forum.models.meta import Base

from .harness import alembic_config


def test_upgrade_downgrade_upgrade_and_models_agree(server_base_url: URL):
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    url = server_base_url.set(database=f"forum_test_migrations_{worker}")
    drop_database(url)
    ensure_database(url)
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "head")
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "base")
        with engine.connect() as connection:
            assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "head")
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert differences == []
    finally:
        engine.dispose()
        drop_database(url)
