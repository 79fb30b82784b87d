"""Searching (the live form): what matches, in what order, and hostile queries.

Every hostile input is sent to the API and to the page; none may be a 500.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from sqlalchemy import Connection, func, insert, text
from sqlalchemy.orm import Session

from forum.counting import CountedSession
from forum.models import Comment
from forum.search import query as search_query

from .factories import add_comment, make_board, make_thread, make_user


@dataclass
class Corpus:
    api: object
    connection: Connection
    thread_id: str  # "Counting comments in PostgreSQL" on board "general"
    other_id: str  # "Gardening" on board "garden"
    comment_id: str


@pytest.fixture
def corpus(testapp, dbsession: Session, connection: Connection) -> Corpus:
    alice = make_user(dbsession, "alice")
    general, garden = make_board(dbsession, "general"), make_board(dbsession, "garden")
    thread = make_thread(
        dbsession,
        general,
        alice,
        "Keeping counters exact is hard work",
        title="Counting comments in PostgreSQL",
    )
    comment = add_comment(
        dbsession, thread, alice, "A trigger keeps the counter exact, but it is hidden"
    )
    add_comment(dbsession, thread, alice, "Organ music and counting sheep")
    other = make_thread(dbsession, garden, alice, "Tomatoes need sun and water", title="Gardening")
    add_comment(dbsession, other, alice, "My tomato plants are counting on rain")
    dbsession.commit()
    return Corpus(testapp, connection, str(thread.id), str(other.id), str(comment.id))


def api(corpus: Corpus, status: int = 200, **params) -> dict:
    return corpus.api.get("/api/search", params=params, status=status).json


def test_titles_rank_above_messages_and_matches_are_marked(corpus: Corpus):
    found = api(corpus, q="counting")
    kinds = [(r["kind"], r["title"]) for r in found["results"]]
    assert kinds[0] == ("thread", "Counting comments in PostgreSQL")  # weight A
    assert found["total"] == 3  # the title and two messages; "counter" stems differently
    assert {r["kind"] for r in found["results"][1:]} == {"comment"}
    assert "<mark>Counting</mark>" in found["results"][0]["headline"]
    assert found["results"][0]["rank"] >= found["results"][1]["rank"]


def test_websearch_syntax(corpus: Corpus):
    phrase = api(corpus, q='"trigger keeps"')["results"]
    assert [r["comment_id"] for r in phrase] == [corpus.comment_id]
    either = {r["title"] for r in api(corpus, q="tomatoes or trigger")["results"]}
    assert either == {"Gardening", "Counting comments in PostgreSQL"}
    excluded = api(corpus, q="counting -sheep")["results"]
    assert all("sheep" not in r["headline"] for r in excluded)
    assert len(excluded) == 2


def test_stemming_finds_other_forms(corpus: Corpus):
    assert api(corpus, q="organs")["total"] == 1  # "Organ music"
    assert api(corpus, q="tomato")["total"] == 2


def test_filter_by_board(corpus: Corpus):
    found = api(corpus, q="counting", board="garden")
    assert [r["title"] for r in found["results"]] == ["Gardening"]
    api(corpus, status=404, q="counting", board="nope")


@pytest.mark.parametrize(
    "q", ["", "   ", "the and of", "-the", "!!! ... ???", "😀🎉", "-counting", "or or or", "\u200b"]
)
def test_nothing_to_search_for(corpus: Corpus, q):
    found = api(corpus, q=q)
    assert found["results"] == [] and found["total"] == 0
    assert found["notice"] == "nothing to search for"


def test_pages_of_twenty_are_stable(corpus: Corpus, dbsession: Session):
    alice_id = dbsession.scalar(text("SELECT id FROM users WHERE username = 'alice'"))
    dbsession.connection().execute(
        insert(Comment.__table__),
        [
            {
                "thread_id": corpus.other_id,
                "author_id": alice_id,
                "message": f"zucchini number {n}",
                "version": 1,
            }
            for n in range(45)
        ],
    )
    first, second, third = (api(corpus, q="zucchini", page=n) for n in (1, 2, 3))
    assert (len(first["results"]), len(second["results"]), len(third["results"])) == (20, 20, 5)
    assert first["has_next"] and second["has_next"] and not third["has_next"]
    ids = [r["comment_id"] for page in (first, second, third) for r in page["results"]]
    assert len(set(ids)) == 45
    assert first == api(corpus, q="zucchini", page=1)  # same order every time
    assert third["total"] == 45


def test_broad_queries_rank_only_the_matches_among_the_newest(corpus: Corpus, monkeypatch):
    """When the planner expects more than EXACT_LIMIT matches, only the matches among the
    newest RECENT_DOCUMENTS documents are ranked, and the total is extrapolated."""
    monkeypatch.setattr(search_query, "EXACT_LIMIT", 0)
    monkeypatch.setattr(search_query, "RECENT_DOCUMENTS", 4)
    found = api(corpus, q="counting")
    # The newest four of the seven documents: two comments, a title, an opening post.
    # Two of them match ("counting" on rain and sheep); the older thread title is out.
    assert [r["kind"] for r in found["results"]] == ["comment", "comment"]
    assert found["total_is_estimate"] is True
    assert found["total"] == 4  # 2 matches in 4 documents, of 7 in the forum: about 3.5
    page = corpus.api.get("/search", params={"q": "counting"})
    assert "About 4 matches: showing the best of the newest 2." in page.text
    none = api(corpus, q="postgresql")  # only the oldest thread title matches
    assert none["results"] == [] and "among the newest 4 posts" in none["notice"]


def test_a_slow_search_is_stopped_with_a_friendly_message(corpus: Corpus, monkeypatch):
    real_page = search_query.ranked_page

    def slow_page(*shape):
        return real_page(*shape).add_columns(func.pg_sleep(0.2))

    monkeypatch.setattr(search_query, "ranked_page", slow_page)
    monkeypatch.setitem(
        corpus.api.app.registry.settings,
        "forum.settings",
        _with_timeout(corpus.api.app.registry.settings["forum.settings"], 50),
    )
    found = api(corpus, q="counting")
    assert found["results"] == []
    assert "took too long" in found["notice"]
    page = corpus.api.get("/search", params={"q": "counting"})
    assert "took too long" in page.text
    # The request's own transaction is still usable after the timeout.
    assert api(corpus, q="").get("notice") == "nothing to search for"


def test_after_a_timeout_the_transaction_goes_on_with_its_own_timeout(
    corpus: Corpus, dbsession: Session, monkeypatch
):
    """The search's savepoint takes back its statement_timeout with its work."""
    real_page = search_query.ranked_page
    monkeypatch.setattr(
        search_query,
        "ranked_page",
        lambda *shape: real_page(*shape).add_columns(func.pg_sleep(0.2)),
    )
    dbsession.execute(text("SET LOCAL statement_timeout = '7s'"))
    found = search_query.search(dbsession, "counting", timeout_ms=50)
    assert "took too long" in found.notice and found.hits == []
    assert dbsession.scalar(text("SHOW statement_timeout")) == "7s"
    assert dbsession.scalar(text("SELECT count(*) FROM comments")) == 5


def _with_timeout(settings, ms):
    from dataclasses import replace

    return replace(settings, search_timeout_ms=ms)


def test_nul_is_400_and_long_queries_422(corpus: Corpus):
    assert api(corpus, 400, q="foo\x00bar")["error"]["code"] == "malformed"
    too_long = api(corpus, 422, q="x" * 257)["error"]
    assert too_long["code"] == "invalid" and "256" in too_long["message"]
    api(corpus, 200, q="x" * 256)
    assert api(corpus, 422, q="a", page="0")["error"]["code"] == "invalid"
    assert api(corpus, 422, q="a", page="many")["error"]["code"] == "invalid"
    corpus.api.get("/search", params={"q": "foo\x00bar"}, status=400)
    page = corpus.api.get("/search", params={"q": "x" * 300}, status=422)
    assert "q is longer than 256 characters" in page.text


HOSTILE = [
    "'",
    '"unclosed',
    "\\",
    "drink\\",
    "&|!():*",
    "foo & | bar",
    "<->",
    ":",
    ":*",
    "foo:A",
    "alice::bob",
    "-",
    "-the",
    "the and of",
    "or or or",
    "organs",
    "IL-7",
    "c++",
    "http://example.com/x",
    "John <j@example.com>",
    "O'Dea",
    "O\u2019Dea",
    "O\u2018Dea",
    "😀🎉",
    "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd",
    "中文搜索",
    "\u200b",
    "a" * 256,
    "(" * 128 + ")" * 128,
    "'; DROP TABLE comments; --",
    "1 OR 1=1",
    "%_",
    "$$ select 1 $$",
    "\\x00",
]


@pytest.mark.parametrize("q", HOSTILE, ids=[f"hostile-{n}" for n in range(len(HOSTILE))])
def test_hostile_queries_never_fail(corpus: Corpus, q):
    found = api(corpus, q=q)
    assert isinstance(found["results"], list)
    page = corpus.api.get("/search", params={"q": q})
    assert page.status_int == 200
    assert page.html.select_one("#q")["value"] == q  # shown back in the box
    assert corpus.connection.execute(text("SELECT count(*) FROM comments")).scalar() == 5


@pytest.mark.parametrize(
    "q", ["x" * 3000, "(" * 5000 + ")" * 5000], ids=["3000-character-word", "5000-parentheses"]
)
def test_huge_hostile_queries_are_422(corpus: Corpus, q):
    assert api(corpus, 422, q=q)["error"]["code"] == "invalid"
    corpus.api.get("/search", params={"q": q}, status=422)


def test_headlines_escape_the_message_and_mark_only_matches(corpus: Corpus, dbsession: Session):
    alice_id = dbsession.scalar(text("SELECT id FROM users WHERE username = 'alice'"))
    dbsession.add(
        Comment(
            thread_id=corpus.other_id,
            author_id=alice_id,
            message='<script>alert("x")</script> <b>bold</b> cucumber '
            '"><img src=x onerror=alert(1)> \ue000fake mark\ue001',
        )
    )
    dbsession.commit()
    found = api(corpus, q="cucumber")["results"]
    headline = found[0]["headline"]
    assert "<mark>cucumber</mark>" in headline
    assert "<script>" not in headline and "<b>" not in headline and "<img" not in headline
    assert "&lt;img src=x onerror=alert(1)&gt;" in headline  # shown as text
    assert headline.count("<mark>") == 1  # the planted marker characters are not highlights
    page = corpus.api.get("/search", params={"q": "cucumber"})
    assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert page.html.select_one(".headline mark").text == "cucumber"


def test_the_search_page(corpus: Corpus):
    page = corpus.api.get("/search", params={"q": "counter exact"})
    assert page.html.select_one("#q")["value"] == "counter exact"
    titles = [a.get_text() for a in page.html.select("ol.hits .title")]
    assert "Counting comments in PostgreSQL" in titles
    assert "matches." in page.text
    link = page.html.select_one("li.hit-comment a.title")["href"]
    assert f"#c-{corpus.comment_id}" in link
    assert corpus.api.get(link.split("#")[0]).status_int == 200
    empty = corpus.api.get("/search", params={"q": "the"})
    assert "Nothing to search for." in empty.text
    blank = corpus.api.get("/search")
    assert not blank.html.select("ol.hits")
    assert corpus.api.get("/").html.select_one("form.header-search input[name=q]")


def test_live_form_shows_every_change_at_once(corpus: Corpus, dbsession: Session):
    from forum.models import Thread

    alice_id = dbsession.scalar(text("SELECT id FROM users WHERE username = 'alice'"))
    comment = Comment(thread_id=corpus.thread_id, author_id=alice_id, message="kohlrabi soup")
    dbsession.add(comment)
    dbsession.commit()
    assert api(corpus, q="kohlrabi")["total"] == 1
    comment.message = "parsnip soup"
    dbsession.commit()
    assert (api(corpus, q="kohlrabi")["total"], api(corpus, q="parsnip")["total"]) == (0, 1)
    comment.thread = dbsession.get(Thread, corpus.other_id)
    dbsession.commit()
    assert api(corpus, q="parsnip", board="garden")["total"] == 1
    assert api(corpus, q="parsnip", board="general")["total"] == 0
    dbsession.delete(comment)
    dbsession.commit()
    assert api(corpus, q="parsnip")["total"] == 0


def test_rare_words_use_the_gin_indexes_broad_ones_read_newest_first(committed_engine):
    """On seeded, analyzed data the planner reads both tables through their GIN index for a
    rare word, and for a word in half the comments reads the newest documents from both
    created_at indexes backwards, in order (a Merge Append), stopping at the bound instead
    of sorting every match."""
    from sqlalchemy import Engine
    from sqlalchemy.dialects import postgresql

    from forum.models import Thread
    from forum.search.ranking import RECENT, ranked_page
    from forum.search.views import search_view

    engine: Engine = committed_engine
    with CountedSession(engine) as session:
        alice = make_user(session)
        board = make_board(session)
        session.commit()
        alice_id, board_id = alice.id, board.id
    with engine.begin() as connection:
        thread_ids = (
            connection.execute(
                insert(Thread.__table__).returning(Thread.__table__.c.id),
                [
                    {
                        "board_id": board_id,
                        "author_id": alice_id,
                        "title": f"title {n} " + ("rutabaga" if n % 1000 == 0 else "alpha"),
                    }
                    for n in range(5000)
                ],
            )
            .scalars()
            .all()
        )
        connection.execute(
            insert(Comment.__table__),
            [
                {
                    "thread_id": thread_ids[n % 5000],
                    "author_id": alice_id,
                    "message": f"common words {n} "
                    + ("rutabaga" if n % 1000 == 0 else "filler")
                    + (" harbour" if n % 2 else ""),
                    "version": 1,
                }
                for n in range(30000)
            ],
        )
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        # As autovacuum would: flush the GIN pending lists the bulk insert filled.
        connection.execute(text("VACUUM ANALYZE threads"))
        connection.execute(text("VACUUM ANALYZE comments"))
        plan = json.dumps(
            connection.execute(
                text(
                    "EXPLAIN (FORMAT JSON) SELECT doc_id FROM search_view "
                    "WHERE document @@ websearch_to_tsquery('english', 'rutabaga')"
                )
            ).scalar_one()
        )
        estimates = connection.execute(
            text(
                "SELECT search_estimate('search_view', 'rutabaga'), "
                "search_estimate('search_view', 'harbour')"
            )
        ).one()
        statement = ranked_page(search_view, False, 1, RECENT, 1000).compile(
            dialect=postgresql.psycopg2.dialect()
        )
        broad = json.dumps(
            connection.exec_driver_sql(
                "EXPLAIN (FORMAT JSON) " + str(statement), {**statement.params, "q": "harbour"}
            ).scalar_one()
        )
    assert "ix_threads_search_vector" in plan
    assert "ix_comments_search_vector" in plan
    # The estimates pick the shapes: every match of the rare word, the newest for the other.
    assert estimates[0] <= search_query.EXACT_LIMIT < estimates[1]
    assert "Merge Append" in broad
    assert "ix_comments_created_at" in broad and "ix_comments_search_vector" not in broad
