"""Session plumbing: the engine, the session factory and ``request.dbsession``.

``request.dbsession`` joins the request's transaction (pyramid_tm +
zope.sqlalchemy): the request commits when the view returns and aborts when it
raises, and pyramid_retry runs it again after a deadlock, a serialization
failure or a stale comment (see ``forum.counters``).
"""

from __future__ import annotations

from collections.abc import Mapping

import zope.sqlalchemy
from pyramid.config import Configurator
from pyramid.request import Request
from pyramid_retry import mark_error_retryable
from sqlalchemy import Connection, Engine, engine_from_config
from sqlalchemy.orm import Session, configure_mappers, sessionmaker
from sqlalchemy.orm.exc import StaleDataError
from transaction import TransactionManager

from ..database import resolve_database_url
from ..outage import CONNECT_TIMEOUT_SECONDS
from .board import Board
from .comment import Comment
from .meta import Base
from .search_state import SearchRefreshState
from .sign_in_failure import SignInFailure
from .thread import Thread
from .user import User

__all__ = ["Base", "Board", "Comment", "SearchRefreshState", "SignInFailure", "Thread", "User"]

# Run mapper configuration now, so a mapping error shows at import time.
configure_mappers()

#: A WSGI environ key the test suite uses to run a request inside its own
#: connection (savepoint per test). Clients cannot set environ keys.
TEST_CONNECTION_KEY = "forum.test_connection"


def get_engine(settings: Mapping[str, str], prefix: str = "sqlalchemy.") -> Engine:
    # pre-ping replaces connections the server closed (a restart) without a failed
    # request; the connect timeout bounds a wait on a server that does not answer.
    return engine_from_config(
        dict(settings),
        prefix,
        url=resolve_database_url(settings),
        pool_pre_ping=True,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
    )


def get_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine)


def get_tm_session(
    session_factory: sessionmaker[Session],
    transaction_manager: TransactionManager,
    connection: Connection | None = None,
) -> Session:
    """A session whose commit and rollback follow ``transaction_manager``.

    With ``connection`` (tests), the session works inside a SAVEPOINT of that
    connection's transaction, so commits and rollbacks are real but the test's
    outer transaction discards everything afterwards.
    """
    if connection is None:
        dbsession = session_factory()
    else:
        dbsession = session_factory(bind=connection, join_transaction_mode="create_savepoint")
    zope.sqlalchemy.register(dbsession, transaction_manager=transaction_manager)
    # The search-refresh wiring joins this transaction's after-commit hooks.
    dbsession.info["transaction_manager"] = transaction_manager
    return dbsession


def includeme(config: Configurator) -> None:
    settings = config.get_settings()
    settings["tm.manager_hook"] = "pyramid_tm.explicit_manager"
    # pyramid_tm would look the user up during commit; we do not want that query.
    settings["tm.annotate_user"] = False
    # No tm.commit_veto: pyramid_tm consults it before tagging an exception an
    # error view rendered as retryable, so a deadlock would not be retried.
    # Refusals abort anyway: raised ones by pyramid_tm, re-rendered forms by
    # doom() (forum.views.pages.common.form_error).

    config.include("pyramid_tm")
    config.include("pyramid_retry")
    # A flush that finds a comment changed or deleted since this request loaded
    # it (the version check, or forum.counters.row_locks) lost a race with
    # another request: run the whole request again from fresh rows. Deadlocks
    # and serialization failures (SQLSTATE class 40) are marked retryable by
    # zope.sqlalchemy already.
    mark_error_retryable(StaleDataError)

    engine = get_engine(settings)
    session_factory = get_session_factory(engine)
    config.registry["dbengine"] = engine
    config.registry["dbsession_factory"] = session_factory

    def dbsession(request: Request) -> Session:
        session = get_tm_session(
            session_factory, request.tm, connection=request.environ.get(TEST_CONNECTION_KEY)
        )
        # Close it however the request ends, so no connection leaks from a dying request.
        request.add_finished_callback(lambda _request: session.close())
        from ..cache import request_cache, serve_from  # forum.cache imports the models

        cache = request_cache(request)
        if cache is not None:  # a GET: its cacheable reads may come from the cache
            serve_from(session, cache)
        return session

    config.add_request_method(dbsession, reify=True)
