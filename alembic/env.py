"""Alembic environment: the same ini file and database resolution as the app.

``alembic -c development.ini upgrade head`` migrates the database the app would
use (FORUM_DATABASE_URL, else sqlalchemy.url, else the embedded server). A
caller may instead pass an open connection in ``config.attributes["connection"]``.
"""

from __future__ import annotations

from pyramid.paster import get_appsettings, setup_logging
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from alembic import context
from forum.database import resolve_database_url
from forum.models.meta import Base
from forum.settings import with_environment

config = context.config
target_metadata = Base.metadata


def run_migrations(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    if config.config_file_name and config.attributes.get("configure_logger", True):
        setup_logging(config.config_file_name)
    settings = with_environment(get_appsettings(config.config_file_name))
    engine = create_engine(resolve_database_url(settings), poolclass=NullPool)
    with engine.connect() as connection:
        run_migrations(connection)
    engine.dispose()


def run_migrations_offline() -> None:
    settings = with_environment(get_appsettings(config.config_file_name))
    context.configure(
        url=resolve_database_url(settings), target_metadata=target_metadata, literal_binds=True
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
