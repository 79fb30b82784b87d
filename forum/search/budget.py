"""One round trip opens a search: a savepoint, the time budget, the emptiness check, the estimate.

A search used to spend five statements before its first row (numnode and
querytree, an EXPLAIN, SAVEPOINT, ``set_config``) and two after (``set_config``,
RELEASE). Here they travel together: psycopg2 sends its statements as one
simple query, so statements separated by ``;`` cost one round trip (the result
is the last one's), and the planner's estimate comes from ``search_estimate()``
(migration 0004_search) inside the same SELECT, asked only when the query has
words to search.

The savepoint is never released: it ends with the request's transaction. Its
only job is to let a timeout roll back the search (and the timeout setting,
which was made inside it) while the rest of the transaction stays usable.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

SAVEPOINT = "forum_search"
#: numnode 0: no searchable words (empty, stop words, punctuation, emoji);
#: querytree "T": only exclusions. Either way nothing is searched.
OPEN = (
    f"SAVEPOINT {SAVEPOINT}; "
    "SELECT searchable, set_config('statement_timeout', %(timeout)s, true), "
    "CASE WHEN searchable THEN search_estimate(%(relation)s::regclass, %(q)s, %(board_id)s) END "
    "FROM (SELECT numnode(q) > 0 AND querytree(q) <> 'T' AS searchable "
    "FROM websearch_to_tsquery('english'::regconfig, %(q)s) AS q) AS checked"
)


@dataclass(frozen=True)
class Opening:
    searchable: bool
    #: The planner's estimate of the matches (None when there is nothing to search).
    estimate: int | None


def open_search(
    session: Session, query: str, relation: str, board_id: int | None, timeout_ms: int
) -> Opening:
    """Open the search's savepoint and time budget; say whether there is anything to search
    and how many matches the planner expects in ``relation`` (on ``board_id``)."""
    searchable, _, estimate = (
        session.connection()
        .exec_driver_sql(
            OPEN,
            {
                "q": query,
                "relation": relation,
                "board_id": board_id,
                "timeout": str(int(timeout_ms)),
            },
        )
        .one()
    )
    return Opening(bool(searchable), estimate)


def abandon_search(session: Session) -> None:
    """After a timeout: back to the savepoint, so the transaction (and its timeout) is as before."""
    session.connection().exec_driver_sql(f"ROLLBACK TO SAVEPOINT {SAVEPOINT}")
