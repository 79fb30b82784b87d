"""Searching: any text is a query, the work is bounded, and no message's HTML gets through.

* ``websearch_to_tsquery('english', q)``: quotes for phrases, ``or``, ``-`` to
  exclude; it never raises a syntax error, whatever the text.
* A query with no searchable words (``numnode`` 0: empty, stop words only,
  punctuation, emoji) or only exclusions (``querytree`` is ``T``) runs no search:
  "nothing to search for", never every row.
* The planner's estimate of the matches picks the shape (``ranking``): up to
  ``EXACT_LIMIT`` every match is ranked and counted (at most the newest
  ``NEWEST``, a safety net); above it only the matches among the forum's newest
  ``RECENT_DOCUMENTS`` documents are ranked (read newest first from an index,
  stopping there; on a board, those of the board) and the total is
  extrapolated from them, which the page says.
* A statement timeout stops anything slower, with a friendly notice.
* Headlines come from ``ts_headline`` on the page's rows only, over a bounded
  prefix, with private marker characters; the text is then HTML-escaped and the
  markers alone become ``<mark>``.

Statements per search: two. One opens it (``budget``: savepoint, timeout,
emptiness check and estimate), one reads the page with its count and
headlines. A page past the last one counts the matches with a third.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from markupsafe import Markup, escape
from sqlalchemy import Table, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from ..models import Board
from .budget import abandon_search, open_search
from .ranking import EXHAUSTIVE, PAGE_SIZE, RECENT, START, STOP, counted, ranked_page
from .ranking import documents as forum_documents
from .views import FORMS

MAX_QUERY_CHARS = 256
MAX_PAGE = 50
#: Estimated matches up to which every match is ranked and counted.
EXACT_LIMIT = 10_000
#: The most matches ranked exhaustively (the newest, should the estimate be far too low).
NEWEST = 10_000
#: Above EXACT_LIMIT, the matches among this many newest documents are ranked.
RECENT_DOCUMENTS = 20_000
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
    #: True when the ranking was bounded: only the newest ``newest`` matches were
    #: ranked, and total is an estimate.
    bounded: bool = False
    newest: int = 0
    has_next: bool = False
    #: Why nothing was searched or found short: "nothing to search for", a timeout.
    notice: str | None = None
    #: The statement timeout stopped it: worth trying again, so never cached.
    timed_out: bool = False


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
    if not query:
        results.notice = "nothing to search for"
        return results
    view = FORMS[form]
    board_id = None if board is None else board.id
    opening = open_search(session, query, view.name, board_id, timeout_ms)
    if not opening.searchable:
        results.notice = "nothing to search for"
        return results
    params = {"q": query} if board is None else {"q": query, "board_id": board_id}
    try:
        _run(session, view, board is not None, page, params, opening.estimate or 0, results)
    except OperationalError as error:
        if getattr(error.orig, "pgcode", None) != QUERY_CANCELED:
            raise
        abandon_search(session)
        results.hits, results.has_next, results.total = [], False, 0
        results.bounded, results.newest = False, 0
        results.timed_out = True
        results.notice = (
            "the search took too long and was stopped; try more specific words or a phrase"
        )
    return results


def shape_for(estimate: int) -> tuple[str, int]:
    """The statement's shape for this many expected matches, and its bound."""
    return (EXHAUSTIVE, NEWEST) if estimate <= EXACT_LIMIT else (RECENT, RECENT_DOCUMENTS)


def _run(
    session: Session,
    view: Table,
    on_board: bool,
    page: int,
    params: dict,
    estimate: int,
    results: Results,
) -> None:
    shape, bound = shape_for(estimate)
    rows = session.execute(ranked_page(view, on_board, page, shape, bound), params).all()
    if rows:
        matches, documents = rows[0].matches, rows[0].documents
    elif page > 1:  # past the last page: count the candidates on their own
        matches, documents = session.execute(counted(view, on_board, shape, bound), params).one()
    elif shape == RECENT:  # none among the newest: how many documents were they?
        matches, documents = 0, session.scalar(select(forum_documents()))
    else:
        matches, documents = 0, None
    results.has_next = page * PAGE_SIZE < matches
    if shape == EXHAUSTIVE:
        # Reaching the cap means the estimate was far too low: say so, and how far.
        results.bounded = matches >= bound
        results.total = max(estimate, matches) if results.bounded else matches
    else:
        read = min(bound, documents or 0)
        # Fewer documents than the bound: all of them were read, the count is exact.
        results.bounded = read == bound
        results.total = round(matches * documents / read) if results.bounded else matches
        if results.bounded and not matches:
            results.notice = f"no matches among the newest {bound:,} posts; try more specific words"
    if results.bounded:
        results.newest = matches
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
