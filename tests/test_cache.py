"""The read cache (forum.cache) on the default settings: hits, misses, and exact invalidation.

The app here is built with the default ``forum.cache_backend`` (memory), unlike the
rest of the suite's. Every request still runs in a SAVEPOINT of the test's
connection, so the app's commits are real commits of its session: the cache is
invalidated by them exactly as in production. The data is rolled back at the end
behind the app's back, so each test starts with an empty cache.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session, object_session

from forum.cache import keys, serve_from
from forum.models import TEST_CONNECTION_KEY, Board, Comment, Thread, User

from .counter_helpers import assert_no_drift, statements_on
from .factories import add_comment, make_board, make_thread, make_user
from .harness import TEST_SETTINGS
from .page_browser import Browser

TABLES = ("FROM boards", "FROM threads", "FROM comments")


@pytest.fixture(scope="module")
def cached_app(database_url):
    from forum import main

    settings = {k: v for k, v in TEST_SETTINGS.items() if k != "forum.cache_backend"}
    return main({}, **settings)  # forum.cache_backend's default: memory


@pytest.fixture
def cache(cached_app):
    cache = cached_app.registry["cache"]
    cache.region.backend._cache.clear()  # the last test's rows are gone
    return cache


@dataclass
class Forum:
    browser: Browser
    connection: Connection
    general: str  # board slugs
    help: str
    thread_id: str  # "Hello" on general by alice: 3 + 2 words, 2 comments
    other_id: str  # "Elsewhere" on help by bob: 2 words, 1 comment
    reply_id: str  # alice's reply in "Hello"

    def reads(self, path: str) -> list[str]:
        """The statements reading boards, threads or comments while GETting ``path``."""
        with statements_on(self.connection) as log:
            self.browser.get(path)
        return [s for s in log if s.startswith("SELECT") and any(t in s for t in TABLES)]


@pytest.fixture
def forum(cached_app, cache, dbsession: Session, connection: Connection) -> Forum:
    from webtest import TestApp

    alice, bob = make_user(dbsession, "alice"), make_user(dbsession, "bob")
    make_user(dbsession, "mod", role="moderator")
    general, help_board = make_board(dbsession, "general"), make_board(dbsession, "help")
    thread = make_thread(dbsession, general, alice, "hello there forum", title="Hello")
    other = make_thread(dbsession, help_board, bob, "over here", title="Elsewhere")
    reply = add_comment(dbsession, thread, alice, "a reply")
    dbsession.commit()
    app = TestApp(cached_app, extra_environ={TEST_CONNECTION_KEY: connection})
    return Forum(
        Browser(app), connection, "general", "help", str(thread.id), str(other.id), str(reply.id)
    )


def board_rows(forum: Forum) -> list[list[str]]:
    page = forum.browser.get("/")
    return [
        [cell.get_text(strip=True) for cell in row.select("td")]
        for row in page.html.select("table.listing tbody tr")
    ]


# --- hits and misses --------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/b/general", "/t/{thread}", "/api/boards"])
def test_the_first_read_queries_and_the_second_is_a_hit(forum: Forum, path: str):
    path = path.format(thread=forum.thread_id)
    assert forum.reads(path), "a miss reads the database"
    assert forum.reads(path) == [], "a hit reads nothing"


def test_only_the_first_page_is_cached(forum: Forum):
    last = f"/t/{forum.thread_id}?last=1"
    forum.reads(last)
    again = forum.reads(last)
    assert any("FROM comments" in s for s in again), "the last page is read every time"
    assert not any("FROM threads" in s for s in again), "the thread's header is cached"


def test_a_signed_in_member_is_read_fresh_even_on_a_cached_page(forum: Forum):
    forum.browser.sign_in("alice")  # alice wrote comments on the page
    forum.browser.get(f"/t/{forum.thread_id}")
    with statements_on(forum.connection) as log:
        page = forum.browser.get(f"/t/{forum.thread_id}")
    assert [s for s in log if "FROM users" in s], "the member's own row is always read"
    assert "Edit" in page.text  # and she may still edit her own comments


def test_cached_objects_belong_to_the_session_that_reads_them(cached_app, cache, connection):
    factory = cached_app.registry["dbsession_factory"]
    setup = factory(bind=connection, join_transaction_mode="create_savepoint")
    alice = make_user(setup, "alice")
    thread = make_thread(setup, make_board(setup, "general"), alice, "one two", title="T")
    thread_id = str(thread.id)
    setup.commit()
    setup.close()

    from forum.services import reading

    found = []
    for _ in range(2):
        session = factory(bind=connection, join_transaction_mode="create_savepoint")
        serve_from(session, cache)
        got = reading.thread_by_id(session, thread_id)
        assert got is not None and object_session(got) is session
        assert object_session(got.board) is session
        found.append(got)
        session.close()
    assert found[0] is not found[1]
    assert found[1].title == "T" and found[1].comment_count == 1


# --- invalidation after commit ----------------------------------------------------------


def test_a_reply_refreshes_its_thread_its_board_and_the_index_only(forum: Forum):
    b = forum.browser
    for path in ("/", "/b/general", "/b/help", f"/t/{forum.thread_id}", f"/t/{forum.other_id}"):
        b.get(path)  # everything cached
    assert board_rows(forum) == [["General", "1", "2"], ["Help", "1", "1"]]
    b.sign_in("bob")
    b.submit(b.get(f"/t/{forum.thread_id}"), "/reply", message="one two three")
    assert b.thread_counts(forum.thread_id) == (8, 3)
    assert b.board_counts("general") == (1, 3)
    assert board_rows(forum) == [["General", "1", "3"], ["Help", "1", "1"]]
    messages = b.get(f"/t/{forum.thread_id}").html.select("li.comment .message")
    assert messages[-1].get_text() == "one two three"
    # What the reply did not touch stayed cached.
    assert forum.reads("/b/help") == [] and forum.reads(f"/t/{forum.other_id}") == []
    assert_no_drift(forum.connection)


def test_a_new_thread_shows_on_its_board_and_the_index(forum: Forum):
    b = forum.browser
    b.get("/b/help")
    b.sign_in("bob")
    b.submit(b.get("/b/help"), "/threads", title="Fresh", message="brand new words")
    assert "Fresh" in b.get("/b/help").text
    assert b.board_counts("help") == (2, 2)
    assert board_rows(forum)[1] == ["Help", "2", "2"]


def test_a_new_member_refreshes_the_index_totals(forum: Forum):
    """The board index's totals count members: a registration stales it, and nothing else."""
    b = forum.browser

    def members() -> str:
        return b.get("/").html.select_one(".total-members").get_text(strip=True)

    before = members()
    assert forum.reads("/") == []  # cached
    b.submit(
        b.get("/register"),
        "/register",
        username="carol",
        password="a long password",
        password_again="a long password",
    )
    assert int(members()) == int(before) + 1


def test_an_edit_refreshes_the_word_counts(forum: Forum):
    b = forum.browser
    b.get("/b/general"), b.get(f"/t/{forum.thread_id}")
    b.sign_in("alice")
    b.submit(b.get(f"/c/{forum.reply_id}/edit"), "/edit", message="a much longer reply now")
    assert b.thread_counts(forum.thread_id) == (8, 2)
    row = b.get("/b/general").html.select_one(f"#t-{forum.thread_id} .word-count")
    assert row.get_text() == "8"


def test_a_move_refreshes_both_threads_and_both_boards(forum: Forum):
    b = forum.browser
    for path in ("/", "/b/general", "/b/help", f"/t/{forum.thread_id}", f"/t/{forum.other_id}"):
        b.get(path)
    b.sign_in("mod")
    b.submit(b.get(f"/c/{forum.reply_id}/move"), "/move", index=-1, thread_id=forum.other_id)
    assert b.thread_counts(forum.thread_id) == (3, 1)
    assert b.thread_counts(forum.other_id) == (4, 2)
    assert (b.board_counts("general"), b.board_counts("help")) == ((1, 1), (1, 2))
    assert board_rows(forum) == [["General", "1", "1"], ["Help", "1", "2"]]
    assert_no_drift(forum.connection)


def test_a_deleted_thread_leaves_its_board_and_its_page(forum: Forum):
    b = forum.browser
    b.get("/b/general"), b.get(f"/t/{forum.thread_id}")
    b.sign_in("mod")
    b.submit(b.get(f"/t/{forum.thread_id}/delete"), "/delete")
    assert not b.get("/b/general").html.select(f"#t-{forum.thread_id}")
    assert b.board_counts("general") == (0, 0)
    b.get(f"/t/{forum.thread_id}", status=404)


def test_search_results_are_cached_and_renewed_by_a_write(forum: Forum):
    b = forum.browser
    assert not b.get("/search?q=zebra").html.select("li.hit")
    with statements_on(forum.connection) as log:
        b.get("/search?q=zebra")
    assert not [s for s in log if "websearch_to_tsquery" in s], "a hit runs no search"
    b.sign_in("bob")
    b.submit(b.get(f"/t/{forum.thread_id}"), "/reply", message="a zebra appears")
    assert len(b.get("/search?q=zebra").html.select("li.hit")) == 1


# --- not after a rollback ------------------------------------------------------------------


def generations(cache, *scopes: str) -> list[object]:
    return [cache.region.get(keys.generation_key(s), ignore_expiration=True) for s in scopes]


def test_a_rollback_invalidates_nothing_and_a_commit_exactly_its_scopes(
    cached_app, cache, connection
):
    factory = cached_app.registry["dbsession_factory"]
    setup = factory(bind=connection, join_transaction_mode="create_savepoint")
    alice = make_user(setup, "alice")
    one, two = make_board(setup, "one"), make_board(setup, "two")
    thread = make_thread(setup, one, alice, "one two", title="T")
    other = make_thread(setup, two, alice, "three", title="U")
    setup.commit()
    ids = thread.id, other.id
    setup.close()
    scopes = (keys.thread(ids[0]), keys.board("one"), keys.BOARDS, keys.SEARCH)
    untouched = (keys.board("two"), keys.thread(ids[1]))
    for scope in scopes + untouched:
        cache.value(scope, "probe", lambda: 1)  # gives every scope a generation
    before = generations(cache, *scopes, *untouched)

    session = factory(bind=connection, join_transaction_mode="create_savepoint")
    writer = session.scalars(select(User).where(User.username == "alice")).one()
    session.add(Comment(thread_id=ids[0], author=writer, message="never kept"))
    session.flush()
    session.rollback()
    assert generations(cache, *scopes, *untouched) == before

    session.add(Comment(thread_id=ids[0], author=writer, message="kept"))
    session.commit()
    after = generations(cache, *scopes, *untouched)
    assert all(a != b for a, b in zip(after[:4], before[:4], strict=True)), "all four renewed"
    assert after[4:] == before[4:], "nothing else"
    session.close()


def test_a_thread_moved_to_another_board_stales_both(cached_app, cache, connection):
    factory = cached_app.registry["dbsession_factory"]
    session = factory(bind=connection, join_transaction_mode="create_savepoint")
    alice = make_user(session, "alice")
    one, two = make_board(session, "one"), make_board(session, "two")
    thread = make_thread(session, one, alice, "words", title="T")
    session.commit()
    for scope in (keys.board("one"), keys.board("two")):
        cache.value(scope, "probe", lambda: 1)
    before = generations(cache, keys.board("one"), keys.board("two"))
    session.scalars(select(Thread).where(Thread.id == thread.id)).one().board = session.get(
        Board, two.id
    )
    session.commit()
    after = generations(cache, keys.board("one"), keys.board("two"))
    assert after[0] != before[0] and after[1] != before[1]
    session.close()


def test_the_bench_report_is_rendered_once_until_the_file_changes(
    forum: Forum, cached_app, monkeypatch, tmp_path
):
    from forum.views.pages import strategies

    (tmp_path / "report.json").write_text("{}")
    (tmp_path / "report.md").write_text("# First\n")
    monkeypatch.setitem(cached_app.registry.settings, "forum.bench_results", str(tmp_path))
    rendered = []
    real = strategies.render_report
    monkeypatch.setattr(strategies, "render_report", lambda p: rendered.append(p) or real(p))
    assert "First" in forum.browser.get("/strategies").text
    assert "First" in forum.browser.get("/strategies").text
    assert len(rendered) == 1
    (tmp_path / "report.md").write_text("# Second, longer\n")
    assert "Second" in forum.browser.get("/strategies").text
    assert len(rendered) == 2


def test_rows_repaired_outside_the_session_name_their_scopes(dbsession: Session):
    from forum.cache.invalidation import scopes_of_rows

    alice = make_user(dbsession, "alice")
    one, two = make_board(dbsession, "one"), make_board(dbsession, "two")
    thread = make_thread(dbsession, one, alice, "words", title="T")
    dbsession.flush()
    # forum-reconcile's drift names rows by their ids as text.
    found = scopes_of_rows(dbsession.connection(), {str(thread.id)}, {str(two.id)})
    assert found == {keys.BOARDS, keys.thread(thread.id), keys.board("one"), keys.board("two")}
    assert scopes_of_rows(dbsession.connection(), [], []) == set()


def test_cache_backend_none_caches_nothing(app):
    from sqlalchemy import event

    from forum.cache import orm

    assert app.registry["cache"] is None  # the suite's app: forum.cache_backend = none
    factory = app.registry["dbsession_factory"]
    assert not event.contains(factory.class_, "do_orm_execute", orm._answer_from_cache)


def test_the_memory_backend_forgets_the_least_recently_used_past_its_limit():
    from forum.cache.regions import BoundedDict

    kept = BoundedDict(limit=2)
    kept["a"], kept["b"] = 1, 2
    assert kept.get("a") == 1  # "a" is now the most recently used
    kept["c"] = 3
    assert list(kept) == ["a", "c"]
    assert kept.pop("a") == 1 and kept.get("a") is None
