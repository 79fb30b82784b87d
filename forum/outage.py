"""What counts as "the database is unavailable" or "busy", and what a client is told meanwhile.

When PostgreSQL is stopped, restarting or unreachable, a request fails fast
(connecting to a missing socket, or a connection the server closed) with one
of these errors. It is answered 503 with ``Retry-After`` rather than 500: the
client did nothing wrong and may try again shortly. The pool's pre-ping then
replaces dead connections by itself once the database is back, so nothing
needs restarting. A write that got a 503 was rolled back (or, if the server
died during its COMMIT, may have landed): only a 2xx answer promises it is
stored.
"""

from __future__ import annotations

from psycopg2.extensions import TransactionRollbackError
from sqlalchemy.exc import (
    DBAPIError,
    InterfaceError,
    OperationalError,
    PendingRollbackError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError

#: Errors that mean "no database right now", not "this request was wrong".
#: PendingRollbackError is what a transaction's COMMIT meets when its connection
#: was lost (and invalidated) after its last statement: nothing was committed.
UNAVAILABLE_ERRORS = (OperationalError, InterfaceError, PoolTimeout, PendingRollbackError)

#: Seconds a client is asked to wait before trying again.
RETRY_AFTER_SECONDS = 5

#: Seconds a client is asked to wait after losing a lock race on every attempt.
BUSY_RETRY_AFTER_SECONDS = 1

#: SQLSTATE class 40, "transaction rollback": a deadlock (40P01), a serialization
#: failure (40001). PostgreSQL rolled the transaction back; running it again works.
LOST_RACE_SQLSTATE_CLASS = "40"

#: Bounds how long a request waits for a connection to a server that does not answer.
CONNECT_TIMEOUT_SECONDS = 5


def is_unavailable(error: BaseException) -> bool:
    """True for errors that mean the database is down or unreachable."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, UNAVAILABLE_ERRORS)


def retry_after_header() -> dict[str, str]:
    return {"Retry-After": str(RETRY_AFTER_SECONDS)}


def lost_lock_race(error: BaseException) -> bool:
    """True for a transaction PostgreSQL rolled back to break a deadlock or a serialization
    conflict (SQLSTATE class 40). Takes SQLAlchemy's wrapper or psycopg2's own error."""
    orig = error.orig if isinstance(error, DBAPIError) else error
    # psycopg2 picks the class from the SQLSTATE: every class-40 error is a TransactionRollbackError
    return isinstance(orig, TransactionRollbackError) or str(
        getattr(orig, "pgcode", "") or ""
    ).startswith(LOST_RACE_SQLSTATE_CLASS)


def is_retryable(error: BaseException) -> bool:
    """A transaction that lost a race and may simply be run again: a lock race, or a comment
    changed since it was loaded (the version check). pyramid_retry retries both in the web
    app (zope.sqlalchemy marks class 40, forum.models marks StaleDataError); code running
    its own transactions (tests, forum-bench) asks this."""
    return isinstance(error, StaleDataError) or lost_lock_race(error)


def busy_retry_after_header() -> dict[str, str]:
    return {"Retry-After": str(BUSY_RETRY_AFTER_SECONDS)}
