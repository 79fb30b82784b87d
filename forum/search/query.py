"""Searching: any text is a query, the work is bounded, and no message's HTML gets through.

* ``websearch_to_tsquery('english', q)``: quotes for phrases, ``or``, ``-`` to
  exclude; it never raises a syntax error, whatever the text.
* A query with no searchable words (``numnode`` 0: empty, stop words only,
  punctuation, emoji) or only exclusions (``querytree`` is ``T``) runs no search:
  "nothing to search for", never every row.
* The planner's estimate of the matches picks the plan: under ``EXACT_LIMIT``
  every match is ranked and counted; above it only the newest ``NEWEST`` are
  ranked (read newest first from an index, stopping early) and the total is the
  estimate, which the page says.
* A statement timeout stops anything slower, with a friendly notice.
* Headlines come from ``ts_headline`` on the page's rows only, over a bounded
  prefix, with private marker characters; the text is then HTML-escaped and the
  markers alone become ``<mark>``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import (
    Select,
    Table,
    bindparam,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnClause

from ..models import Board, Comment, Thread
from .views import FORMS

MAX_QUERY_CHARS = 256
PAGE_SIZE = 20
MAX_PAGE = 50
#: Estimated matches above which only the newest are ranked.
EXACT_LIMIT = 10_000
NEWEST = 10_000
#: ts_rank_cd weights for D, C, B (messages), A (titles).
WEIGHTS: ColumnClause[Any] = literal_column("'{0.1, 0.2, 0.4, 1.0}'::float4[]")
ENGLISH: ColumnClause[Any] = literal_column("'english'::regconfig")
#: Private-use characters mark highlights; they are removed from the text first.
START, STOP = "\ue000", "\ue001"
HEADLINE_OPTIONS = (
    f'StartSel="{START}", StopSel="{STOP}", MaxWords=30, MinWords=12, ShortWord=2, '
    'MaxFragments=2, FragmentDelimiter=" … "'
)
#: Headlines read at most this much of a message.
HEADLINE_CHARS = 3000
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


def _tsquery():
    return func.websearch_to_tsquery(ENGLISH, bindparam("q"))


def _estimate(session: Session, statement: Select, params: dict) -> int:
    """The planner's row estimate for ``statement`` (planning only, nothing is read)."""
    compiled = statement.compile(dialect=postgresql.psycopg2.dialect())
    plan = (
        session.connection()
        .exec_driver_sql("EXPLAIN (FORMAT JSON) " + str(compiled), {**compiled.params, **params})
        .scalar_one()
    )
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return int(plan[0]["Plan"]["Plan Rows"])


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
    params = {"q": query}
    nodes, tree = session.execute(
        select(func.numnode(_tsquery()), func.querytree(_tsquery())), params
    ).one()
    if nodes == 0 or tree == "T":
        results.notice = "nothing to search for"
        return results

    view = FORMS[form]
    try:
        with session.begin_nested():  # a timeout rolls back this savepoint only
            session.execute(select(func.set_config("statement_timeout", str(timeout_ms), True)))
            _run(session, view, board, page, params, results)
            session.execute(select(func.set_config("statement_timeout", "0", True)))
    except OperationalError as error:
        if getattr(error.orig, "pgcode", None) != QUERY_CANCELED:
            raise
        results.hits, results.has_next, results.total = [], False, 0
        results.notice = (
            "the search took too long and was stopped; try more specific words or a phrase"
        )
    return results


def _run(
    session: Session, view: Table, board: Board | None, page: int, params: dict, results: Results
) -> None:
    matching = select(view).where(view.c.document.op("@@")(_tsquery()))
    if board is not None:
        matching = matching.where(view.c.board_id == board.id)

    estimate = _estimate(
        session, select(literal_column("1")).select_from(matching.subquery()), params
    )
    results.bounded = estimate > EXACT_LIMIT
    if results.bounded:
        results.newest = NEWEST
        # Rank the newest matches only: read newest first and stop after NEWEST.
        matching = matching.order_by(view.c.created_at.desc()).limit(NEWEST)
    source = matching.subquery()
    rank = func.ts_rank_cd(WEIGHTS, source.c.document, _tsquery()).label("rank")
    ranked = (
        select(
            source.c.kind,
            source.c.doc_id,
            source.c.thread_id,
            source.c.comment_id,
            source.c.created_at,
            rank,
            func.count().over().label("total"),
        )
        .order_by(rank.desc(), source.c.created_at.desc(), source.c.doc_id)
        .limit(PAGE_SIZE + 1)
        .offset((page - 1) * PAGE_SIZE)
    )
    rows = session.execute(ranked, params).all()
    results.has_next = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    if results.bounded:
        results.total = estimate
    elif rows:
        results.total = rows[0].total
    elif page > 1:  # past the last page: count the matches on their own
        results.total = session.scalar(select(func.count()).select_from(source), params) or 0
    results.hits = _hits(session, rows, params)


def _clean(column):
    """The text with our marker characters removed, cut to what a headline may read."""
    return func.left(func.translate(column, START + STOP, ""), HEADLINE_CHARS)


def _headline(column):
    return func.ts_headline(ENGLISH, _clean(column), _tsquery(), HEADLINE_OPTIONS)


def highlight(raw: str) -> Markup:
    """Escape the headline's text, then turn the markers (and only them) into <mark>."""
    return Markup(str(escape(raw)).replace(START, "<mark>").replace(STOP, "</mark>"))


def _hits(session: Session, rows: Sequence[Any], params: dict) -> list[Hit]:
    """Titles and headlines for the page's rows, read from the tables themselves.

    With the materialized form a row can name a comment deleted since the last
    refresh: it is left out, not shown with stale text.
    """
    comment_ids = [row.comment_id for row in rows if row.comment_id is not None]
    messages: dict[uuid.UUID, tuple[uuid.UUID, str]] = {}
    if comment_ids:
        for comment_id, thread_id, headline in session.execute(
            select(Comment.id, Comment.thread_id, _headline(Comment.message)).where(
                Comment.id.in_(comment_ids)
            ),
            params,
        ):
            messages[comment_id] = (thread_id, headline)
    # The threads of the page: those matched, and those the comments are in now.
    thread_ids = {row.thread_id for row in rows} | {t for t, _ in messages.values()}
    titles: dict[uuid.UUID, tuple[str, str]] = {}
    if thread_ids:
        for thread_id, title, headline in session.execute(
            select(Thread.id, Thread.title, _headline(Thread.title)).where(
                Thread.id.in_(thread_ids)
            ),
            params,
        ):
            titles[thread_id] = (title, headline)

    hits = []
    for row in rows:
        if row.comment_id is None:
            if row.thread_id not in titles:
                continue
            title, headline = titles[row.thread_id]
            thread_id = row.thread_id
        else:
            if row.comment_id not in messages:
                continue
            thread_id, headline = messages[row.comment_id]
            title = titles.get(thread_id, ("", ""))[0]
        hits.append(
            Hit(
                kind=row.kind,
                thread_id=thread_id,
                comment_id=row.comment_id,
                title=title,
                headline=highlight(headline),
                rank=float(row.rank),
                created_at=row.created_at,
            )
        )
    return hits
