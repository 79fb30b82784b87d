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
            assert found.total == len(expected) and not found.bounded
            assert found.has_next == (len(expected) > page * PAGE_SIZE)


def test_a_bound_ranks_exactly_the_newest_matches(forum: dict, connection: Connection, monkeypatch):
    monkeypatch.setattr(search_query, "NEWEST", 50)
    every = connection.execute(
        text(
            "SELECT count(*) FROM search_view WHERE document @@ websearch_to_tsquery('english', :q)"
        ),
        {"q": BROAD_WORD},
    ).scalar_one()
    assert every > 50
    newest = exhaustive(
        connection,
        "(SELECT * FROM search_view WHERE document @@ websearch_to_tsquery('english', :q) "
        "ORDER BY created_at DESC, doc_id LIMIT 50) AS newest",
        BROAD_WORD,
        None,
    )
    found = search(forum["session"], BROAD_WORD, page=1)
    assert found.bounded and found.newest == 50 and found.total >= 50
    shown = [(h.kind, h.comment_id or h.thread_id, round(h.rank, 6)) for h in found.hits]
    # Ties in created_at at the edge of the bound may fall either way: compare
    # what cannot depend on them.
    assert len(shown) == PAGE_SIZE
    assert {doc for _, doc, _ in shown} <= {doc for _, doc, _ in newest} | _edge(
        connection, BROAD_WORD, 50
    )
    assert [rank for _, _, rank in shown] == sorted((rank for _, _, rank in shown), reverse=True)


def _edge(connection: Connection, q: str, bound: int) -> set:
    """The matches sharing the created_at of the bound's last one (either may be in)."""
    return set(
        connection.execute(
            text(
                "SELECT coalesce(comment_id, thread_id) FROM search_view "
                "WHERE document @@ websearch_to_tsquery('english', :q) AND created_at = ("
                "SELECT created_at FROM search_view "
                "WHERE document @@ websearch_to_tsquery('english', :q) "
                "ORDER BY created_at DESC LIMIT 1 OFFSET :n)"
            ),
            {"q": q, "n": bound - 1},
        ).scalars()
    )


@pytest.mark.parametrize("form", ["live", "materialized"])
def test_statements_per_search(forum: dict, connection: Connection, monkeypatch, form):
    """One statement opens the search, one reads the page with its headlines; an estimate
    only when the bound was reached; nothing at all for nothing to search for."""
    session = forum["session"]
    session.connection()
    with statements_on(connection) as selective:
        search(session, SELECTIVE_WORD, form=form)
    assert len(selective) == 2, selective
    assert selective[0].startswith("SAVEPOINT")
    monkeypatch.setattr(search_query, "NEWEST", 30)
    with statements_on(connection) as broad:
        found = search(session, BROAD_WORD, form=form, page=2)
    assert found.bounded and len(found.hits) == 10 and len(broad) == 3, broad
    assert broad[-1].startswith("EXPLAIN")
    with statements_on(connection) as empty:
        assert search(session, "   ", form=form).notice == "nothing to search for"
    assert empty == []
