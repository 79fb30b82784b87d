"""Which PostgreSQL to use, and making sure its database exists.

Order of precedence: ``FORUM_DATABASE_URL`` in the environment, then
``sqlalchemy.url`` in the ini file, then the embedded server whose data folder
is ``forum.embedded_pgdata`` (``var/postgres`` of the checkout). The embedded
server's database is created on first use; another server's database is
created by ``forum-initialize-db`` when missing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.pool import NullPool

from . import embedded_postgres

DEFAULT_PGDATA = "var/postgres"
DEFAULT_DATABASE = "forum"


def resolve_database_url(settings: Mapping[str, str]) -> URL:
    """The database URL for the app, the scripts, alembic and the tests.

    ``FORUM_DATABASE_URL``, else the ini's ``sqlalchemy.url``; else the embedded
    server, which this starts (if it is not running) and whose database it creates.
    """
    configured = os.environ.get("FORUM_DATABASE_URL") or settings.get("sqlalchemy.url")
    if configured:
        url = make_url(configured)
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg2")
        return url
    pgdata = Path(settings.get("forum.embedded_pgdata", DEFAULT_PGDATA))
    database = settings.get("forum.embedded_database", DEFAULT_DATABASE)
    url = embedded_postgres.server_url(pgdata, database)
    ensure_database(url)  # the embedded server is ours: its database is made on first use
    return url


def psycopg2_connection(connection: Connection) -> Any:
    """The psycopg2 connection under ``connection``, for COPY and ``execute_values``."""
    raw = connection.connection.driver_connection
    if raw is None:
        raise RuntimeError("the connection was closed")
    return raw


def maintenance_url(url: URL) -> URL:
    """The same server's ``postgres`` database, used to create and drop others."""
    return url.set(database="postgres")


def _name(url: URL) -> str:
    if not url.database:
        raise ValueError(f"{url.render_as_string()} names no database")
    return url.database


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def ensure_database(url: URL) -> bool:
    """Create ``url``'s database when it does not exist yet; return True if created."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect():
            return False
    except OperationalError as error:
        if "does not exist" not in str(error.orig):
            raise
    finally:
        engine.dispose()
    admin = create_engine(maintenance_url(url), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as conn:
            try:
                conn.execute(text(f"CREATE DATABASE {_quote(_name(url))}"))
            except ProgrammingError as error:  # created by a concurrent process meanwhile
                if "already exists" not in str(error.orig):
                    raise
                return False
        return True
    finally:
        admin.dispose()


def drop_database(url: URL) -> None:
    """Drop ``url``'s database if it exists (tests and the benchmark's scratch databases)."""
    admin = create_engine(maintenance_url(url), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {_quote(_name(url))} WITH (FORCE)"))
    finally:
        admin.dispose()
