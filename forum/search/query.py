"""Searching: any text is a query, the work is bounded, and no message's HTML gets through.

* ``websearch_to_tsquery('english', q)``: quotes for phrases, ``or``, ``-`` to
  exclude; it never raises a syntax error, whatever the text.
* A query with no searchable words (``numnode`` 0: empty, stop words only,
  punctuation, emoji) or only exclusions (``querytree`` is ``T``) runs no search:
  "nothing to search for", never every row.
* Only the newest ``NEWEST`` matches are ranked: every match of a selective
  query (the ranking is then exhaustive and the total exact), the newest of a
  broad one, read newest first from an index (``ranking``). When the bound was
  reached, the total is the planner's estimate, which the page says.
* A statement timeout stops anything slower, with a friendly notice.
* Headlines come from ``ts_headline`` on the page's rows only, over a bounded
  prefix, with private marker characters; the text is then HTML-escaped and the
  markers alone become ``<mark>``.

Statements per search: one to open it (``budget``), one for the page with its
headlines, and an EXPLAIN for the estimate only when the bound was reached.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from markupsafe import Markup, escape
from sqlalchemy import Select, Table, literal_column, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from ..models import Board
from .budget import abandon_search, open_search
from .ranking import PAGE_SIZE, START, STOP, bounded_count, matching, ranked_page
from .views import FORMS

MAX_QUERY_CHARS = 256
MAX_PAGE = 50
#: At most this many matches, the newest, are ranked; reaching it makes the total an estimate.
NEWEST = 10_000
QUERY_CANCELED = "57014"


class SearchInputError(ValueError):
    """The query itself is unacceptable (400 for a NUL, 422 for a too-long query)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Hit:
    kind: str  # "thread" or "comment"
    thread_id: uuid.UUID
    comment_id: uuid.UUID | None
    title: str
    headline: Markup  # escaped text with <mark> around the matches
    rank: float
    created_at: datetime


@dataclass
class Results:
    query: str
    page: int = 1
    hits: list[Hit] = field(default_factory=list)
    total: int = 0
    #: True when only the newest ``newest`` matches were ranked; total is then an estimate.
    bounded: bool = False
    newest: int = 0
    has_next: bool = False
    #: Why nothing was searched or found short: "nothing to search for", a timeout.
    notice: str | None = None


def check_query(raw: object) -> str:
    """The query text, or SearchInputError for a NUL character or more than 256 characters."""
    text = "" if raw is None else str(raw)
    if "\x00" in text:
        raise SearchInputError(400, "the query contains a NUL character")
    if len(text) > MAX_QUERY_CHARS:
        raise SearchInputError(422, f"q is longer than {MAX_QUERY_CHARS} characters")
    return text.strip()


def check_page(raw: object) -> int:
    try:
        page = int(str(raw if raw not in (None, "") else 1))
    except ValueError:
        raise SearchInputError(422, f"page must be a whole number from 1 to {MAX_PAGE}") from None
    if not 1 <= page <= MAX_PAGE:
        raise SearchInputError(422, f"page must be a whole number from 1 to {MAX_PAGE}")
    return page


def _estimate(session: Session, statement: Select, params: dict) -> int:
    """The planner's row estimate for ``statement`` (planning only, nothing is read)."""
    sql, defaults = _explain(statement)
    plan = session.connection().exec_driver_sql(sql, {**defaults, **params}).scalar_one()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return int(plan[0]["Plan"]["Plan Rows"])


@lru_cache(maxsize=64)
def _explain(statement: Select) -> tuple[str, dict]:
    compiled = statement.compile(dialect=postgresql.psycopg2.dialect())
    return "EXPLAIN (FORMAT JSON) " + str(compiled), dict(compiled.params)


@lru_cache(maxsize=64)
def _counted(view: Table, on_board: bool) -> Select:
    """What the estimate is of: every match."""
    return select(literal_column("1")).select_from(matching(view, on_board).subquery())


def search(
    session: Session,
    raw_query: object,
    *,
    form: str = "live",
    board: Board | None = None,
    page: int = 1,
    timeout_ms: int = 3000,
) -> Results:
    """Run a search; raises SearchInputError for a NUL or an over-long query."""
    query = check_query(raw_query)
    results = Results(query=query, page=page)
    if not query or not open_search(session, query, timeout_ms):
        results.notice = "nothing to search for"
        return results
    try:
        params = {"q": query} if board is None else {"q": query, "board_id": board.id}
        _run(session, FORMS[form], board is not None, page, params, results)
    except OperationalError as error:
        if getattr(error.orig, "pgcode", None) != QUERY_CANCELED:
            raise
        abandon_search(session)
        results.hits, results.has_next, results.total = [], False, 0
        results.bounded = False
        results.notice = (
            "the search took too long and was stopped; try more specific words or a phrase"
        )
    return results


def _run(
    session: Session, view: Table, on_board: bool, page: int, params: dict, results: Results
) -> None:
    bound = NEWEST
    rows = session.execute(ranked_page(view, on_board, page, bound), params).all()
    if rows:
        matches = rows[0].matches
    elif page == 1:
        matches = 0
    else:  # past the last page: count the matches on their own
        matches = session.scalar(bounded_count(view, on_board, bound), params)
    results.bounded = matches >= bound
    results.has_next = page * PAGE_SIZE < matches
    if results.bounded:
        results.newest = bound
        results.total = max(_estimate(session, _counted(view, on_board), params), matches)
    else:
        results.total = matches
    results.hits = [_hit(row) for row in rows if row.found is not None]


def highlight(raw: str) -> Markup:
    """Escape the headline's text, then turn the markers (and only them) into <mark>."""
    return Markup(str(escape(raw)).replace(START, "<mark>").replace(STOP, "</mark>"))


def _hit(row) -> Hit:
    return Hit(
        kind=row.kind,
        thread_id=row.thread_id,
        comment_id=row.comment_id,
        title=row.title,
        headline=highlight(row.headline),
        rank=float(row.rank),
        created_at=row.created_at,
    )
