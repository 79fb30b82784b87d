"""What counts as "the database is unavailable", and what a client is told meanwhile.

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

from sqlalchemy.exc import (
    DBAPIError,
    InterfaceError,
    OperationalError,
    PendingRollbackError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout

#: Errors that mean "no database right now", not "this request was wrong".
#: PendingRollbackError is what a transaction's COMMIT meets when its connection
#: was lost (and invalidated) after its last statement: nothing was committed.
UNAVAILABLE_ERRORS = (OperationalError, InterfaceError, PoolTimeout, PendingRollbackError)

#: Seconds a client is asked to wait before trying again.
RETRY_AFTER_SECONDS = 5

#: Bounds how long a request waits for a connection to a server that does not answer.
CONNECT_TIMEOUT_SECONDS = 5


def is_unavailable(error: BaseException) -> bool:
    """True for errors that mean the database is down or unreachable."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, UNAVAILABLE_ERRORS)


def retry_after_header() -> dict[str, str]:
    return {"Retry-After": str(RETRY_AFTER_SECONDS)}
