"""The one statement that finds, ranks, counts and highlights a page of results.

Read inside out:

1. ``newest``: the matches, newest first, at most ``bound`` of them, each with
   its ``ts_rank_cd``. The planner picks the plan from its estimate of the
   matches: a few thousand are found through the GIN indexes and sorted (all
   of them fit under the bound, so the ranking is exhaustive); a word in half
   the forum is read backwards from the ``created_at`` indexes of both tables
   under a Merge Append, stopping at the bound (migration 0004 made the live
   view's branches single tables so that this plan exists).
2. ``page``: those rows by rank, then newest, then id; with how many there were
   (``count(*) OVER ()``, at most ``bound``), then the page's 20.
3. The page's rows joined to the tables for the title and the headline, so
   ``ts_headline`` runs on 20 rows only, each over a bounded prefix.

A board is filtered by the thread's board now (``thread_id IN`` that board's
threads): one rule for both forms, and a hashed or indexed lookup per match
instead of a subquery per row.
"""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import (
    Integer,
    Select,
    Table,
    bindparam,
    case,
    func,
    literal_column,
    select,
)

from ..models import Comment, Thread

PAGE_SIZE = 20
#: ts_rank_cd weights for D, C, B (messages), A (titles).
WEIGHTS = literal_column("'{0.1, 0.2, 0.4, 1.0}'::float4[]")
ENGLISH = literal_column("'english'::regconfig")
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


def matching(view: Table, on_board: bool) -> Select:
    """Every match of the query (``:q``) in ``view``; ``on_board``: on board ``:board_id``."""
    statement = select(view).where(view.c.document.op("@@")(tsquery()))
    if on_board:
        statement = statement.where(
            view.c.thread_id.in_(
                select(Thread.id).where(Thread.board_id == bindparam("board_id", type_=Integer))
            )
        )
    return statement


def _clean(column):
    """The text with our marker characters removed, cut to what a headline may read."""
    return func.left(func.translate(column, START + STOP, ""), HEADLINE_CHARS)


def _headline(column):
    return func.ts_headline(ENGLISH, _clean(column), tsquery(), HEADLINE_OPTIONS)


@lru_cache(maxsize=512)
def ranked_page(view: Table, on_board: bool, page: int, bound: int) -> Select:
    """The page's rows in order, each with ``matches`` (how many were ranked, at most ``bound``),
    the current ``title`` of its thread and its ``headline``. Built once per
    shape (building it costs more than running it for a selective query).

    ``found`` is NULL for a row whose comment or thread is gone (the materialized
    form between refreshes): the caller leaves it out.
    """
    rank = func.ts_rank_cd(WEIGHTS, view.c.document, tsquery()).label("rank")
    newest = (
        matching(view, on_board)
        .with_only_columns(
            view.c.kind,
            view.c.doc_id,
            view.c.thread_id,
            view.c.comment_id,
            view.c.created_at,
            rank,
        )
        .order_by(view.c.created_at.desc())
        .limit(bound)
        .subquery("newest")
    )
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
    return (
        select(
            rows.c.kind,
            rows.c.doc_id,
            thread.c.id.label("thread_id"),
            rows.c.comment_id,
            rows.c.created_at,
            rows.c.rank,
            rows.c.matches,
            case((is_thread, thread.c.id), else_=comment.c.id).label("found"),
            thread.c.title,
            case((is_thread, _headline(thread.c.title)), else_=_headline(comment.c.message)).label(
                "headline"
            ),
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
def bounded_count(view: Table, on_board: bool, bound: int) -> Select:
    """How many matches there are, counting no further than ``bound``."""
    capped = matching(view, on_board).with_only_columns(literal_column("1")).limit(bound).subquery()
    return select(func.count()).select_from(capped)
