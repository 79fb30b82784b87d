"""The ranking is the exhaustive one, whatever plan found the matches; and a search is cheap.

A small forum of synthetic messages (the seeding corpus, so the words have the
real mix of common and rare) is searched through ``search()`` and compared with
a plain SQL ranking of every match: ``ts_rank_cd`` over all of them, then
newest, then id. Both forms, with and without a board, pages 1 and 2.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, insert, text
from sqlalchemy.orm import Session

from forum.models import Comment, Thread
from forum.search import query as search_query
from forum.search.query import PAGE_SIZE, search
from forum.seeding.corpus import BROAD_WORD, PHRASE, SELECTIVE_WORD, MarkerRates, message, title
from forum.seeding.vocabulary import WORDS

from .counter_helpers import statements_on
from .factories import make_board, make_user

COMMENTS = 1500
THREADS = 60
QUERIES = [
    SELECTIVE_WORD,
    f'"{PHRASE}"',
    BROAD_WORD,  # a few hundred matches here: "selective" for this forum
    WORDS[5],  # common words
    WORDS[40],
    WORDS[400],  # rarer ones
    WORDS[600],
    f"{WORDS[300]} or {WORDS[301]}",
    f"{WORDS[30]} -{WORDS[31]}",
    f"{WORDS[12]} {WORDS[25]}",
]


@pytest.fixture
def forum(dbsession: Session, connection: Connection) -> dict:
    """Two boards, THREADS threads, COMMENTS comments; many share a timestamp (ties)."""
    rng = random.Random(10)
    rates = MarkerRates.for_corpus(30_000)
    alice = make_user(dbsession, "alice")
    boards = [make_board(dbsession, "one"), make_board(dbsession, "two")]
    dbsession.flush()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    thread_ids = (
        connection.execute(
            insert(Thread.__table__).returning(Thread.__table__.c.id),
            [
                {
                    "board_id": boards[n % 2].id,
                    "author_id": alice.id,
                    "title": title(rng),
                    "created_at": start + timedelta(minutes=n),
                }
                for n in range(THREADS)
            ],
        )
        .scalars()
        .all()
    )
    connection.execute(
        insert(Comment.__table__),
        [
            {
                "thread_id": rng.choice(thread_ids),
                "author_id": alice.id,
                "message": message(rng, rates),
                "version": 1,
                # Every 7 comments share a minute: the ranking breaks ties by id.
                "created_at": start + timedelta(minutes=n // 7),
            }
            for n in range(COMMENTS)
        ],
    )
    # The rows went in with Core: set the boards' counters (the search reads them) by hand.
    connection.execute(
        text(
            "UPDATE boards SET thread_count = (SELECT count(*) FROM threads t "
            "WHERE t.board_id = boards.id), comment_count = (SELECT count(*) FROM comments c "
            "JOIN threads t ON t.id = c.thread_id WHERE t.board_id = boards.id)"
        )
    )
    connection.execute(text("REFRESH MATERIALIZED VIEW search_view_materialized"))
    connection.execute(text("ANALYZE threads, comments, search_view_materialized"))
    return {"session": dbsession, "boards": boards}


def exhaustive(connection: Connection, relation: str, q: str, board_id: int | None) -> list:
    """Every match ranked, the way search ranked them before any bound: the reference."""
    on_board = "AND thread_id IN (SELECT id FROM threads WHERE board_id = :b)" if board_id else ""
    return [
        (row.kind, row.comment_id or row.thread_id, round(row.rank, 6))
        for row in connection.execute(
            text(
                f"SELECT kind, thread_id, comment_id, "
                f"ts_rank_cd('{{0.1, 0.2, 0.4, 1.0}}'::float4[], document, "
                f"websearch_to_tsquery('english', :q)) AS rank FROM {relation} "
                f"WHERE document @@ websearch_to_tsquery('english', :q) {on_board} "
                "ORDER BY rank DESC, created_at DESC, doc_id"
            ),
            {"q": q, "b": board_id},
        )
    ]


@pytest.mark.parametrize("form", ["live", "materialized"])
@pytest.mark.parametrize("q", QUERIES)
def test_pages_are_the_exhaustive_ranking(forum: dict, connection: Connection, form, q):
    relation = {"live": "search_view", "materialized": "search_view_materialized"}[form]
    for board in (None, forum["boards"][1]):
        expected = exhaustive(connection, relation, q, board.id if board else None)
        assert expected, q  # every query finds something here
        for page in (1, 2):
            found = search(forum["session"], q, form=form, board=board, page=page)
            shown = [(h.kind, h.comment_id or h.thread_id, round(h.rank, 6)) for h in found.hits]
            first = (page - 1) * PAGE_SIZE
            assert shown == expected[first : first + PAGE_SIZE], (q, form, board, page)
            assert found.total == len(expected) and not found.bounded, found
            assert found.has_next == (len(expected) > page * PAGE_SIZE)


@pytest.mark.parametrize("form", ["live", "materialized"])
@pytest.mark.parametrize("q", [BROAD_WORD, WORDS[5], f'"{PHRASE}"'])
def test_a_broad_query_ranks_the_matches_among_the_newest(
    forum: dict, connection: Connection, monkeypatch, form, q
):
    """Above EXACT_LIMIT: exactly the matches among the forum's newest documents (on a
    board, the board's among them), ranked as an exhaustive ranking of them would; the
    total extrapolated from their share of those documents."""
    relation = {"live": "search_view", "materialized": "search_view_materialized"}[form]
    # A window that ends between two minutes, so no tie decides what is in it.
    window = connection.execute(
        text(
            f"SELECT count(*) FROM {relation} "
            "WHERE created_at >= '2026-01-01T00:00Z'::timestamptz + interval '180 minutes'"
        )
    ).scalar_one()
    monkeypatch.setattr(search_query, "EXACT_LIMIT", 0)
    monkeypatch.setattr(search_query, "RECENT_DOCUMENTS", window)
    newest = f"(SELECT * FROM {relation} ORDER BY created_at DESC LIMIT {window}) AS recent"
    for board in (None, forum["boards"][0]):
        expected = exhaustive(connection, newest, q, board.id if board else None)
        assert expected, q
        for page in (1, 2):
            found = search(forum["session"], q, form=form, board=board, page=page)
            shown = [(h.kind, h.comment_id or h.thread_id, round(h.rank, 6)) for h in found.hits]
            first = (page - 1) * PAGE_SIZE
            assert shown == expected[first : first + PAGE_SIZE], (q, form, board, page)
            assert found.bounded and found.newest == len(expected)
            assert found.total == round((THREADS + COMMENTS) * len(expected) / window)


def test_a_forum_smaller_than_the_window_is_counted_exactly(forum: dict, monkeypatch):
    """Above EXACT_LIMIT in a forum of fewer documents than RECENT_DOCUMENTS, every
    document was read: the ranking and the total are exact."""
    exact = search(forum["session"], BROAD_WORD)
    monkeypatch.setattr(search_query, "EXACT_LIMIT", 0)
    found = search(forum["session"], BROAD_WORD)
    assert not found.bounded and not exact.bounded
    assert (found.total, found.hits) == (exact.total, exact.hits)


def test_a_too_low_estimate_is_capped_and_said(forum: dict, monkeypatch):
    """Should the planner expect a few matches where there are many, the exhaustive ranking
    stops at the newest NEWEST and the page says it was bounded."""
    monkeypatch.setattr(search_query, "NEWEST", 30)
    found = search(forum["session"], BROAD_WORD)
    assert found.bounded and found.newest == 30 and found.total >= 30
    assert len(found.hits) == PAGE_SIZE and found.has_next


@pytest.mark.parametrize("form", ["live", "materialized"])
def test_statements_per_search(forum: dict, connection: Connection, monkeypatch, form):
    """One statement opens the search (savepoint, timeout, emptiness check, estimate), one
    reads the page with its count and headlines, whatever the query; a page past the last
    one counts with a third; nothing to search for stops after the first."""
    session = forum["session"]
    session.connection()
    with statements_on(connection) as selective:
        search(session, SELECTIVE_WORD, form=form)
    assert len(selective) == 2, selective
    assert selective[0].startswith("SAVEPOINT") and "search_estimate" in selective[0]
    monkeypatch.setattr(search_query, "EXACT_LIMIT", 0)
    monkeypatch.setattr(search_query, "RECENT_DOCUMENTS", 500)
    with statements_on(connection) as broad:
        found = search(session, BROAD_WORD, form=form, page=2)
    assert found.bounded and len(found.hits) == PAGE_SIZE and len(broad) == 2, broad
    with statements_on(connection) as past_the_end:
        assert search(session, SELECTIVE_WORD, form=form, page=50).hits == []
    assert len(past_the_end) == 3
    with statements_on(connection) as stop_words:
        assert search(session, "the and of", form=form).notice == "nothing to search for"
    assert len(stop_words) == 1
    with statements_on(connection) as empty:
        assert search(session, "   ", form=form).notice == "nothing to search for"
    assert empty == []
