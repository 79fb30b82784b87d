"""The one statement that finds, ranks, counts and highlights a page of results.

Two shapes, picked by the planner's estimate of the matches (``query.search``):

* ``EXHAUSTIVE`` (a few thousand matches expected): every match, found through
  the GIN indexes, capped at ``bound`` newest as a safety net. The ranking is
  then the exhaustive one and the total exact.
* ``RECENT`` (more expected): the matches among the forum's newest ``bound``
  documents, read backwards from the ``created_at`` indexes of both tables
  under a Merge Append (migration 0004_search made the live view's branches
  single tables so that this plan exists) and stopping there. The work is the
  same for a word in half the forum and for a phrase of two common words that
  matches almost nothing, which a scan for "the newest N matches" would read
  the whole table for; on a board too, which keeps its documents of that
  window (a window of the board's own documents would read five times as
  many rows on a board with a fifth of the forum). The matches found are the
  newest ones, so the page can say "the best of the newest k"; the total is
  extrapolated from their share of the window, against the boards' counters.

Then, for either: the rows by rank, then newest, then id, with how many there
were (``count(*) OVER ()``); the page's 20; and those 20 joined to the tables
for the title and the headline, so ``ts_headline`` runs on 20 rows only, each
over a bounded prefix.

A board is filtered by the thread's board now (``thread_id IN`` that board's
threads): one rule for both forms, a hashed or indexed lookup per row.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    Table,
    bindparam,
    case,
    func,
    literal_column,
    null,
    select,
)
from sqlalchemy.sql import FromClause
from sqlalchemy.sql.elements import ColumnClause

from ..models import Board, Comment, Thread

EXHAUSTIVE, RECENT = "exhaustive", "recent"
PAGE_SIZE = 20
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


def tsquery():
    return func.websearch_to_tsquery(ENGLISH, bindparam("q"))


def _on_board(source: FromClause, statement: Select) -> Select:
    """Only documents of board ``:board_id`` (its threads and their comments, as they are now)."""
    board_id = bindparam("board_id", type_=Integer)
    return statement.where(
        source.c.thread_id.in_(select(Thread.id).where(Thread.board_id == board_id))
    )


def _newest(view: Table, on_board: bool, shape: str, bound: int) -> Select:
    """The ranked candidates: each match's columns and its ``rank``."""
    if shape == EXHAUSTIVE:
        source: FromClause = view
        statement = select(view).order_by(view.c.created_at.desc()).limit(bound)
    else:
        source = select(view).order_by(view.c.created_at.desc()).limit(bound).subquery("recent")
        # The limit again (idle: there are no more) keeps this level a subquery of its own,
        # so the rank is computed here and count(*) OVER () above buffers small rows, not
        # every match's document (which spilled 10,000 of them to disk).
        statement = select(source).limit(bound)
    statement = statement.where(source.c.document.op("@@")(tsquery()))
    if on_board:
        statement = _on_board(source, statement)
    rank = func.ts_rank_cd(WEIGHTS, source.c.document, tsquery()).label("rank")
    return statement.with_only_columns(
        source.c.kind,
        source.c.doc_id,
        source.c.thread_id,
        source.c.comment_id,
        source.c.created_at,
        rank,
    )


def _clean(column):
    """The text with our marker characters removed, cut to what a headline may read."""
    return func.left(func.translate(column, START + STOP, ""), HEADLINE_CHARS)


def _headline(column):
    return func.ts_headline(ENGLISH, _clean(column), tsquery(), HEADLINE_OPTIONS)


def documents():
    """How many documents (threads and comments) the forum holds, from the boards'
    counters: what the share of matches among the newest is extrapolated to."""
    total = func.coalesce(func.sum(Board.thread_count + Board.comment_count), 0)
    return select(total).scalar_subquery()


@lru_cache(maxsize=512)
def ranked_page(
    view: Table, on_board: bool, page: int, shape: str, bound: int, headlines: bool = True
) -> Select:
    """The page's rows in order, each with ``matches`` (how many were ranked), ``documents``
    (the forum's or board's, for ``RECENT``), the current ``title`` of its thread and its
    ``headline``. Built once per shape: building it costs more than running it for a
    selective query. ``headlines=False`` leaves them out (forum-bench measures their share).

    ``found`` is NULL for a row whose comment or thread is gone (the materialized
    form between refreshes): the caller leaves it out.
    """
    newest = _newest(view, on_board, shape, bound).subquery("newest")
    order = (newest.c.rank.desc(), newest.c.created_at.desc(), newest.c.doc_id)
    rows = (
        select(newest, func.count().over().label("matches"))
        .order_by(*order)
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
        .subquery("page")
    )
    comment = Comment.__table__.alias("c")
    thread = Thread.__table__.alias("t")
    is_thread = rows.c.comment_id.is_(None)
    headline = (
        case((is_thread, _headline(thread.c.title)), else_=_headline(comment.c.message))
        if headlines
        else null()
    )
    return (
        select(
            rows.c.kind,
            rows.c.doc_id,
            thread.c.id.label("thread_id"),
            rows.c.comment_id,
            rows.c.created_at,
            rows.c.rank,
            rows.c.matches,
            (documents() if shape == RECENT else null()).label("documents"),
            case((is_thread, thread.c.id), else_=comment.c.id).label("found"),
            thread.c.title,
            headline.label("headline"),
        )
        .select_from(
            rows.outerjoin(comment, comment.c.id == rows.c.comment_id).outerjoin(
                # A comment's thread is the one it is in now (it may have moved).
                thread,
                thread.c.id == func.coalesce(comment.c.thread_id, rows.c.thread_id),
            )
        )
        .order_by(rows.c.rank.desc(), rows.c.created_at.desc(), rows.c.doc_id)
    )


@lru_cache(maxsize=64)
def counted(view: Table, on_board: bool, shape: str, bound: int) -> Select:
    """How many candidates ``ranked_page`` ranks (for a page past the last one), and the
    documents (for ``RECENT``)."""
    candidates = _newest(view, on_board, shape, bound).subquery()
    return select(
        func.count().label("matches"),
        (documents() if shape == RECENT else null()).label("documents"),
    ).select_from(candidates)
