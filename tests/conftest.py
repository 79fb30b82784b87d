"""Test fixtures: a real PostgreSQL database, a savepoint per test, every strategy.

The database is ``forum_test_<worker>`` on the server FORUM_DATABASE_URL names,
or on the embedded server in ``var/postgres`` when it is unset. It is created
fresh and migrated to head once per run. Each test runs inside a transaction
that is rolled back at its end; sessions (and app requests) work in SAVEPOINTs
of it, so their commits and rollbacks are real. Tests that must commit for real
(several connections at once) use ``committed_engine`` and clean up after.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session

from alembic import command
from forum import counting
from forum.database import drop_database, ensure_database
from forum.embedded_postgres import server_url

from .harness import ROOT, TEST_SETTINGS, alembic_config
from .world import World, make_world

STRATEGY_NAMES = list(counting.STRATEGIES)


@pytest.fixture(scope="session")
def server_base_url() -> URL:
    """The server the tests use: FORUM_DATABASE_URL's, else the embedded one."""
    configured = os.environ.get("FORUM_DATABASE_URL")
    if configured:
        return make_url(configured).set(drivername="postgresql+psycopg2")
    return server_url(ROOT / "var" / "postgres")


@pytest.fixture(scope="session")
def database_url(server_base_url: URL) -> Iterator[URL]:
    """A fresh database migrated to head; FORUM_DATABASE_URL points at it during the run."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    url = server_base_url.set(database=f"forum_test_{worker}")
    drop_database(url)
    ensure_database(url)
    engine = create_engine(url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")
    engine.dispose()
    with pytest.MonkeyPatch.context() as patch:
        # Scripts, alembic and apps built by tests all resolve the database from here.
        patch.setenv("FORUM_DATABASE_URL", url.render_as_string(hide_password=False))
        yield url
    drop_database(url)


@pytest.fixture(scope="session")
def engine(database_url: URL) -> Iterator[Engine]:
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(autouse=True)
def _default_counter_strategy() -> None:
    """Tests that do not ask for a strategy run under the default one."""
    counting.use("attribute")


@pytest.fixture(autouse=True)
def _the_flush_plan_is_never_wrong(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """forum.counters.flush_check corrects and logs a flush the plan did not foresee:
    in the tests that is a failure (the plan must learn the unit of work's rule)."""
    yield
    surprises = [r for r in caplog.records if r.name == "forum.counters.flush_check"]
    assert not surprises, [r.getMessage() for r in surprises]


@pytest.fixture(params=STRATEGY_NAMES)
def counter_strategy(request: pytest.FixtureRequest) -> str:
    """Run the test once under each counter strategy."""
    counting.use(request.param)
    return request.param


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """The test's connection, inside a transaction rolled back at the end."""
    with engine.connect() as connection:
        outer = connection.begin()
        yield connection
        if outer.is_active:
            outer.rollback()


@pytest.fixture
def dbsession(connection: Connection) -> Iterator[Session]:
    """A session whose commit/rollback is a SAVEPOINT of the test's transaction."""
    session = counting.CountedSession(bind=connection, join_transaction_mode="create_savepoint")
    yield session
    session.close()


@pytest.fixture
def committed_engine(engine: Engine) -> Iterator[Engine]:
    """For tests that really commit from several connections: empties the tables after."""

    def empty() -> None:
        with engine.begin() as conn:
            conn.execute(text("TRUNCATE comments, threads, boards, users RESTART IDENTITY"))

    empty()
    yield engine
    empty()


# --- the web application ---------------------------------------------------------


@pytest.fixture(scope="session")
def app(database_url: URL):
    from forum import main

    return main({}, **TEST_SETTINGS)


@pytest.fixture
def testapp(app, connection: Connection, request: pytest.FixtureRequest):
    """WebTest against the app; every request runs in a SAVEPOINT of the test's connection.

    The app counts with the default strategy, once. A test whose outcome a strategy
    can change (it writes and checks counters, or shows them) asks for
    ``counter_strategy`` too, and then runs under each.
    """
    from webtest import TestApp

    from forum.models import TEST_CONNECTION_KEY

    if "counter_strategy" in request.fixturenames:
        strategy = request.getfixturevalue("counter_strategy")
    else:
        strategy = TEST_SETTINGS["forum.counter_strategy"]
    # the app's session factory keeps the last strategy installed on it: set it every test
    counting.install(app.registry["dbsession_factory"], strategy)
    return TestApp(app, extra_environ={TEST_CONNECTION_KEY: connection})


# --- a small forum for the counter scenarios (tests/world.py) -------------------------


@pytest.fixture
def world(dbsession: Session) -> World:
    return make_world(dbsession)
