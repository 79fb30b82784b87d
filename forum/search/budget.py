"""One round trip opens a search: a savepoint, the time budget, and "is there anything to search?".

A search used to spend five statements before its first row (numnode and
querytree, an EXPLAIN, SAVEPOINT, ``set_config``) and two after (``set_config``,
RELEASE). Here the savepoint, ``SET LOCAL statement_timeout`` and the
emptiness check travel together: psycopg2 sends its statements as one simple
query, so several statements separated by ``;`` cost one round trip and the
result is the last one's.

The savepoint is never released: it ends with the request's transaction. Its
only job is to let a timeout roll back the search (and the timeout setting,
which was made inside it) while the rest of the transaction stays usable.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

SAVEPOINT = "forum_search"
#: numnode 0: no searchable words (empty, stop words, punctuation, emoji);
#: querytree "T": only exclusions. Either way nothing is searched.
OPEN = (
    f"SAVEPOINT {SAVEPOINT}; "
    "SELECT numnode(q) > 0 AND querytree(q) <> 'T', "
    "set_config('statement_timeout', %(timeout)s, true) "
    "FROM websearch_to_tsquery('english'::regconfig, %(q)s) AS q"
)


def open_search(session: Session, query: str, timeout_ms: int) -> bool:
    """Open the search's savepoint and time budget; True when the query has words to search."""
    return bool(
        session.connection()
        .exec_driver_sql(OPEN, {"q": query, "timeout": str(int(timeout_ms))})
        .scalar_one()
    )


def abandon_search(session: Session) -> None:
    """After a timeout: back to the savepoint, so the transaction (and its timeout) is as before."""
    session.connection().exec_driver_sql(f"ROLLBACK TO SAVEPOINT {SAVEPOINT}")
