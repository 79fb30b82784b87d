"""The HTML pages: what a person sees and does.

Each action is done through its form (with the page's CSRF token), and the
counters the pages show are checked after it; the tests whose writes move
counters run under every counter strategy, the rest once.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from forum.models import Comment

from .counter_helpers import assert_no_drift
from .factories import TEST_PASSWORD, add_comment, make_board, make_thread, make_user
from .page_browser import Browser


@dataclass
class Site:
    browser: Browser
    connection: Connection
    thread_id: str  # "Hello" on board "general" by alice: opening post of 3 words
    other_id: str  # "Elsewhere" on board "help" by bob: 2 words
    comment_id: str  # alice's reply in "Hello": 2 words


@pytest.fixture
def site(testapp, dbsession: Session, connection: Connection) -> Site:
    alice = make_user(dbsession, "alice")
    bob = make_user(dbsession, "bob")
    make_user(dbsession, "mod", role="moderator")
    general = make_board(dbsession, "general", "General")
    help_board = make_board(dbsession, "help", "Help")
    thread = make_thread(dbsession, general, alice, "hello there forum", title="Hello")
    other = make_thread(dbsession, help_board, bob, "over here", title="Elsewhere")
    reply = add_comment(dbsession, thread, alice, "a reply")
    dbsession.commit()
    return Site(Browser(testapp), connection, str(thread.id), str(other.id), str(reply.id))


# --- reading ---------------------------------------------------------------------------


def test_home_lists_boards_with_their_counts(site: Site, counter_strategy):
    page = site.browser.get("/")
    rows = [
        [cell.get_text(strip=True) for cell in row.select("td")]
        for row in page.html.select("table.listing tbody tr")
    ]
    assert rows == [["General", "1", "2"], ["Help", "1", "1"]]
    assert counter_strategy in page.html.select_one("footer .strategy").text


def test_board_lists_threads_with_counts_author_and_activity(site: Site):
    page = site.browser.get("/b/general")
    row = page.html.select_one(f"#t-{site.thread_id}")
    cells = [cell.get_text(strip=True) for cell in row.select("td")]
    assert cells[:4] == ["Hello", "alice", "5", "2"]
    assert row.select_one("time")["datetime"]
    assert site.browser.board_counts("general") == (1, 2)


def test_thread_shows_comments_in_order_with_word_counts_and_anchors(site: Site):
    page = site.browser.get(f"/t/{site.thread_id}")
    comments = page.html.select("ol.comments li.comment")
    assert [c.select_one(".message").get_text() for c in comments] == [
        "hello there forum",
        "a reply",
    ]
    assert [c.select_one(".word-count").get_text() for c in comments] == ["3", "2"]
    assert comments[1]["id"] == f"c-{site.comment_id}"
    assert site.browser.thread_counts(site.thread_id) == (5, 2)


def test_unknown_and_malformed_ids_are_a_friendly_404(site: Site):
    for path in (
        "/b/nope",
        "/t/not-a-uuid",
        "/t/00000000-0000-4000-8000-000000000000",
        "/c/123/edit",
        "/c/00000000-0000-4000-8000-000000000000/move",
        "/nowhere",
    ):
        page = site.browser.get(path, status=404)
        assert page.content_type == "text/html"
        assert page.html.select_one("h1").text == "Not found"
        assert "Back to the boards" in page.text


def test_a_broken_page_link_is_a_400(site: Site):
    page = site.browser.get(f"/t/{site.thread_id}?after=garbage", status=400)
    assert "page link is broken" in page.text


def test_a_server_fault_is_a_plain_500_page(site: Site, monkeypatch):
    from forum.services import reading

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(reading, "boards", broken)
    page = site.browser.get("/", status=500)
    assert "Something went wrong" in page.text
    assert "secret internals" not in page.text and "Traceback" not in page.text


# --- writing: the happy paths, with the counters the pages show ---------------------------


@pytest.mark.usefixtures("counter_strategy")
def test_start_a_thread(site: Site):
    b = site.browser
    b.sign_in("bob")
    board = b.get("/b/general")
    thread_page = b.submit(
        board, "/threads", title="  Fresh start ", message="four words right here"
    ).follow()
    assert b.text(thread_page, "h1") == "Fresh start"
    assert "Your thread is up." in thread_page.text
    assert (
        b.text(thread_page, ".counts .word-count"),
        b.text(thread_page, ".counts .comment-count"),
    ) == ("4", "1")
    assert b.board_counts("general") == (2, 3)
    assert_no_drift(site.connection)


@pytest.mark.usefixtures("counter_strategy")
def test_reply_moves_the_counts(site: Site):
    b = site.browser
    b.sign_in("bob")
    after = b.submit(b.get(f"/t/{site.thread_id}"), "/reply", message="one two three").follow()
    assert "Reply posted." in after.text
    assert b.thread_counts(site.thread_id) == (8, 3)
    assert b.board_counts("general") == (1, 3)
    assert after.html.select("ol.comments li.comment")[-1].select_one(".message").text == (
        "one two three"
    )
    assert_no_drift(site.connection)


def test_replying_moves_the_thread_to_the_top_of_its_board(site: Site, dbsession: Session):
    b = site.browser
    b.sign_in("bob")
    b.submit(b.get("/b/general"), "/threads", title="Newer", message="x")
    assert b.get("/b/general").html.select("table.listing tbody tr td a")[0].text == "Newer"
    b.submit(b.get(f"/t/{site.thread_id}"), "/reply", message="bump")
    assert b.get("/b/general").html.select("table.listing tbody tr td a")[0].text == "Hello"


@pytest.mark.usefixtures("counter_strategy")
def test_edit_own_comment(site: Site):
    b = site.browser
    b.sign_in("alice")
    form_page = b.get(f"/c/{site.comment_id}/edit")
    assert form_page.html.select_one("textarea").text == "a reply"
    back = b.submit(form_page, "/edit", message="a much longer reply now").follow()
    assert "Comment saved." in back.text
    assert back.html.select_one(f"#c-{site.comment_id} .word-count").text == "5"
    assert b.thread_counts(site.thread_id) == (8, 2)
    assert_no_drift(site.connection)


@pytest.mark.usefixtures("counter_strategy")
def test_delete_own_comment(site: Site):
    b = site.browser
    b.sign_in("alice")
    confirm = b.get(f"/t/{site.thread_id}").click(href=f"/c/{site.comment_id}/delete")
    assert b.thread_counts(site.thread_id) == (5, 2)  # asking deletes nothing
    back = b.submit(confirm, f"/c/{site.comment_id}/delete").follow()
    assert "Comment deleted." in back.text
    assert b.thread_counts(site.thread_id) == (3, 1)
    assert b.board_counts("general") == (1, 1)
    assert_no_drift(site.connection)


@pytest.mark.usefixtures("counter_strategy")
def test_moderator_moves_a_comment_by_id(site: Site):
    b = site.browser
    b.sign_in("mod")
    move_page = b.get(f"/c/{site.comment_id}/move")
    landed = b.submit(move_page, "/move", index=-1, thread_id=site.other_id).follow()
    assert "Moved the comment to “Elsewhere”." in landed.text
    assert b.thread_counts(site.thread_id) == (3, 1)
    assert b.thread_counts(site.other_id) == (4, 2)
    assert (b.board_counts("general"), b.board_counts("help")) == ((1, 1), (1, 2))
    assert_no_drift(site.connection)


@pytest.mark.usefixtures("counter_strategy")
def test_moderator_moves_a_comment_found_by_title(site: Site):
    b = site.browser
    b.sign_in("mod")
    results = b.get(f"/c/{site.comment_id}/move?q=elsew")
    assert [li.get_text(" ", strip=True) for li in results.html.select("ul.targets li")] == [
        "Move here Elsewhere in Help"
    ]
    b.submit(results, "/move", status=303)  # the first form: "Move here"
    assert b.thread_counts(site.other_id) == (4, 2)
    assert_no_drift(site.connection)


def test_title_search_treats_wildcards_as_text(site: Site):
    site.browser.sign_in("mod")
    page = site.browser.get(f"/c/{site.comment_id}/move?q=%25")
    assert "No thread title contains “%”." in page.text


@pytest.mark.usefixtures("counter_strategy")
def test_moderator_deletes_a_thread(site: Site):
    b = site.browser
    b.sign_in("mod")
    confirm = b.get(f"/t/{site.thread_id}").click(href=f"/t/{site.thread_id}/delete")
    assert "Delete this thread?" in confirm.text
    assert b.board_counts("general") == (1, 2)  # asking deletes nothing
    board_page = b.submit(confirm, "/delete", status=303).follow()
    assert "Deleted the thread “Hello”." in board_page.text
    assert b.board_counts("general") == (0, 0)
    b.get(f"/t/{site.thread_id}", status=404)
    assert_no_drift(site.connection)


@pytest.mark.usefixtures("counter_strategy")
def test_moderator_edits_and_deletes_others_comments(site: Site):
    b = site.browser
    b.sign_in("mod")
    b.submit(b.get(f"/c/{site.comment_id}/edit"), "/edit", message="moderated")
    assert b.thread_counts(site.thread_id) == (4, 2)
    b.submit(b.get(f"/c/{site.comment_id}/delete"), f"/c/{site.comment_id}/delete")
    assert b.thread_counts(site.thread_id) == (3, 1)


# --- invalid forms: the typed values come back with the message, nothing is written ----------

INVALID_MESSAGES = [
    ("", "message must not be empty"),
    ("  \n\t ", "message must not be empty"),
    ("x" * 20001, "message is longer than 20000 characters"),
    ("nul\x00byte", "message must not contain NUL characters"),
]


@pytest.mark.parametrize(
    ("message", "error"), INVALID_MESSAGES, ids=["empty", "whitespace", "too-long", "nul"]
)
def test_invalid_reply(site: Site, message, error):
    b = site.browser
    b.sign_in("bob")
    page = b.submit(b.get(f"/t/{site.thread_id}"), "/reply", status=422, message=message)
    assert b.text(page, "#message-error") == error
    # What was typed comes back (a NUL cannot be shown, so it is left out).
    assert page.html.select_one("#reply textarea").text == message.replace("\x00", "")
    assert b.thread_counts(site.thread_id) == (5, 2)


@pytest.mark.parametrize(
    ("title", "message", "field", "error"),
    [
        ("", "fine", "title", "title must not be empty"),
        ("t" * 201, "fine", "title", "title is longer than 200 characters"),
        ("Good title", " ", "message", "message must not be empty"),
    ],
    ids=["empty-title", "long-title", "blank-message"],
)
def test_invalid_new_thread(site: Site, title, message, field, error):
    b = site.browser
    b.sign_in("bob")
    page = b.submit(b.get("/b/general"), "/threads", status=422, title=title, message=message)
    assert b.text(page, f"#{field}-error") == error
    assert page.html.select_one("#message").text == message
    assert b.board_counts("general") == (1, 2)


@pytest.mark.parametrize(("message", "error"), INVALID_MESSAGES[:2], ids=["empty", "whitespace"])
def test_invalid_edit(site: Site, message, error):
    b = site.browser
    b.sign_in("alice")
    page = b.submit(b.get(f"/c/{site.comment_id}/edit"), "/edit", status=422, message=message)
    assert b.text(page, "#message-error") == error
    assert page.html.select_one("textarea").text == message
    assert b.thread_counts(site.thread_id) == (5, 2)


@pytest.mark.parametrize("target", ["", "not-a-uuid", "00000000-0000-4000-8000-000000000000"])
def test_invalid_move(site: Site, target):
    b = site.browser
    b.sign_in("mod")
    page = b.submit(
        b.get(f"/c/{site.comment_id}/move"), "/move", status=422, index=-1, thread_id=target
    )
    assert b.text(page, "#thread_id-error").startswith(
        "Give a thread id" if not target else "There is no thread with the id"
    )
    assert b.thread_counts(site.thread_id) == (5, 2)


# --- CSRF, signed out, not allowed --------------------------------------------------------


def writes(site: Site) -> list[tuple[str, dict]]:
    return [
        ("/b/general/threads", {"title": "t", "message": "m"}),
        (f"/t/{site.thread_id}/reply", {"message": "m"}),
        (f"/t/{site.thread_id}/delete", {}),
        (f"/c/{site.comment_id}/edit", {"message": "m"}),
        (f"/c/{site.comment_id}/delete", {}),
        (f"/c/{site.comment_id}/move", {"thread_id": site.other_id}),
        ("/logout", {}),
    ]


@pytest.mark.parametrize("token", ["missing", "wrong"])
def test_every_form_needs_its_csrf_token(site: Site, token):
    b = site.browser
    b.sign_in("mod")
    for path, fields in writes(site):
        if token == "wrong":
            fields = {**fields, "csrf_token": "forged"}
        page = b.post_raw(path, status=403, **fields)
        assert "This form has expired" in page.text, path
    assert b.thread_counts(site.thread_id) == (5, 2)
    assert b.board_counts("general") == (1, 2)
    assert "signed in as" in b.get("/").text  # the sign-out was refused too


def test_signed_out_writes_go_to_the_sign_in_page(site: Site):
    b = site.browser
    token = b.form(b.get("/login"), "/login")["csrf_token"].value  # an anonymous session's
    for path, fields in writes(site)[:-1]:
        page = b.post_raw(path, status=303, csrf_token=token, **fields)
        assert page.location.startswith("http://localhost/login?next="), path
    for path in (f"/c/{site.comment_id}/edit", f"/c/{site.comment_id}/move"):
        assert b.get(path, status=303).location.startswith("http://localhost/login?next=")
    assert b.thread_counts(site.thread_id) == (5, 2)


def test_members_may_not_touch_others_comments_or_moderate(site: Site):
    b = site.browser
    b.sign_in("bob")
    b.get(f"/c/{site.comment_id}/edit", status=403)
    b.get(f"/c/{site.comment_id}/move", status=403)
    token = b.get("/").html.select_one("input[name=csrf_token]")["value"]
    for path, fields in writes(site)[2:6]:
        page = b.post_raw(path, status=403, csrf_token=token, **fields)
        assert page.html.select_one("h1").text == "Not allowed", path
    assert b.thread_counts(site.thread_id) == (5, 2)
    assert_no_drift(site.connection)


def test_authors_do_not_see_moderator_buttons(site: Site):
    b = site.browser
    b.sign_in("alice")
    page = b.get(f"/t/{site.thread_id}")
    assert not page.html.select(f"a[href='/t/{site.thread_id}/delete']")
    b.get(f"/t/{site.thread_id}/delete", status=403)
    assert page.html.select_one(f"#c-{site.comment_id} a[href$='/edit']")
    assert not page.html.select(f"#c-{site.comment_id} a[href$='/move']")


# --- accounts ---------------------------------------------------------------------------


def test_register_signs_you_in(site: Site):
    b = site.browser
    page = b.submit(
        b.get("/register"),
        "/register",
        username="Carol",
        password="a long password",
        password_again="a long password",
    ).follow()
    assert "Welcome, carol!" in page.text
    assert "signed in as carol" in page.html.select_one(".who").get_text(" ", strip=True)


@pytest.mark.parametrize(
    ("username", "password", "again", "field", "error"),
    [
        ("x", TEST_PASSWORD, TEST_PASSWORD, "username", "Username must be 3 to 32 characters"),
        ("carol", "short", "short", "password", "Password must be at least 10 characters"),
        ("carol", TEST_PASSWORD, "different one", "password_again", "The two passwords differ."),
        ("ALICE", TEST_PASSWORD, TEST_PASSWORD, "username", "The username 'alice' is taken."),
    ],
    ids=["bad-username", "short-password", "mismatch", "taken"],
)
def test_invalid_registration(site: Site, username, password, again, field, error):
    b = site.browser
    page = b.submit(
        b.get("/register"),
        "/register",
        status=422,
        username=username,
        password=password,
        password_again=again,
    )
    assert b.text(page, f"#{field}-error").startswith(error)
    assert page.html.select_one("#username")["value"] == username
    assert page.html.select_one("#password").get("value") in (None, "")  # never echoed


def test_wrong_password(site: Site):
    b = site.browser
    form = b.form(b.get("/login"), "/login")
    form["username"], form["password"] = "alice", "not the password"
    page = form.submit(status=422)
    assert b.text(page, "#password-error") == "Wrong username or password."
    assert page.html.select_one("#username")["value"] == "alice"


def test_sign_in_returns_to_where_you_were(site: Site):
    b = site.browser
    form = b.form(b.get(f"/login?next=/t/{site.thread_id}"), "/login")
    form["username"], form["password"] = "alice", TEST_PASSWORD
    assert form.submit(status=303).location == f"http://localhost/t/{site.thread_id}"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "javascript:x"])
def test_sign_in_never_sends_you_to_another_site(site: Site, target):
    b = site.browser
    form = b.form(b.get("/login"), "/login")
    form["next"].force_value(target)
    form["username"], form["password"] = "alice", TEST_PASSWORD
    assert form.submit(status=303).location == "http://localhost/"


def test_sign_out(site: Site):
    b = site.browser
    b.sign_in("alice")
    page = b.get("/logout")
    home = b.submit(page, "/logout").follow()
    assert "You are signed out." in home.text
    assert "Sign in" in home.html.select_one("header nav").text


# --- text is shown exactly as written -----------------------------------------------------

PAYLOADS = ['<script>alert("x")</script>', '"><img src=x onerror=alert(1)>']


@pytest.mark.parametrize("payload", PAYLOADS, ids=["script", "img-onerror"])
def test_html_in_messages_and_titles_is_shown_as_text(site: Site, payload):
    b = site.browser
    b.sign_in("bob")
    page = b.submit(b.get("/b/general"), "/threads", title=payload, message=payload).follow()
    assert page.html.select_one("h1").get_text() == payload
    assert page.html.select("li.comment .message")[0].get_text() == payload
    assert "<script>alert" not in page.text
    assert "<img src=x" not in page.text
    assert not page.html.select("li.comment .message img, li.comment .message script")
    board = b.get("/b/general")
    assert "<script>alert" not in board.text and "<img src=x" not in board.text


def test_line_breaks_are_kept_and_code_verbatim(site: Site):
    b = site.browser
    b.sign_in("bob")
    message = "first line\nsecond line\n\n    indented  code\ttab"
    page = b.submit(b.get(f"/t/{site.thread_id}"), "/reply", message=message).follow()
    shown = page.html.select("li.comment .message")[-1]
    assert shown.select_one("p").get_text() == "first line\nsecond line"
    assert shown.select_one("p br") is not None
    assert shown.select_one("pre code").get_text() == "indented  code\ttab\n"
    assert page.html.select("li.comment .word-count")[-1].text == "7"  # counted as written


# --- pagination stays cheap on a big thread -------------------------------------------------


def _grow(dbsession: Session, thread_id: str, author_id: int, extra: int) -> None:
    for n in range(extra):
        dbsession.add(Comment(thread_id=thread_id, author_id=author_id, message=f"filler {n}"))
    dbsession.commit()


def test_thread_pages_walk_forward_and_back(site: Site, dbsession: Session):
    from sqlalchemy import select

    from forum.models import User

    alice_id = dbsession.scalar(select(User.id).where(User.username == "alice"))
    _grow(dbsession, site.thread_id, alice_id, 120)  # 122 comments: pages of 50, 50, 22
    b = site.browser
    first = b.get(f"/t/{site.thread_id}")
    messages = [m.get_text() for m in first.html.select("li.comment .message")]
    assert len(messages) == 50 and messages[0] == "hello there forum"
    assert not first.html.select("a[rel=prev]")
    second = first.click(href="after=", index=0)
    third = second.click(href="after=", index=0)
    assert len(third.html.select("li.comment")) == 22
    assert not third.html.select("a[rel=next]")
    back = third.click(href="before=", index=0)
    assert [m.get_text() for m in back.html.select("li.comment .message")] == [
        m.get_text() for m in second.html.select("li.comment .message")
    ]
    last = b.get(f"/t/{site.thread_id}?last=1")
    assert last.html.select("li.comment .message")[-1].get_text() == "filler 119"


def _page_statements(site: Site, connection: Connection, path: str) -> list[str]:
    from .counter_helpers import statements_on

    with statements_on(connection) as log:
        site.browser.get(path)
    return [s for s in log if not s.startswith(("SAVEPOINT", "RELEASE", "ROLLBACK"))]


def test_thread_page_queries_do_not_grow_with_the_thread(
    site: Site, dbsession: Session, connection: Connection
):
    from sqlalchemy import insert, select

    from forum.models import Board, User

    alice = dbsession.scalars(select(User).where(User.username == "alice")).one()
    general = dbsession.scalars(select(Board).where(Board.slug == "general")).one()
    small = make_thread(dbsession, general, alice, "tiny", title="Small")
    alice_id = alice.id
    dbsession.commit()
    connection.execute(
        insert(Comment.__table__),
        [
            {"thread_id": site.thread_id, "author_id": alice_id, "message": "filler", "version": 1}
            for _ in range(600)
        ],
    )
    site.browser.sign_in("alice")
    for query in ("", "?last=1"):
        big_log = _page_statements(site, connection, f"/t/{site.thread_id}{query}")
        small_log = _page_statements(site, connection, f"/t/{small.id}{query}")
        assert len(big_log) == len(small_log), (big_log, small_log)
        assert len(big_log) <= 4, big_log  # user, thread (with board), comments page (+ probe)
        assert all("OFFSET" not in s for s in big_log)
        assert not any("count(" in s.lower() for s in big_log)
    middle = site.browser.get(f"/t/{site.thread_id}").click(href="after=", index=0)
    middle_log = _page_statements(site, connection, middle.request.path_qs)
    assert len(middle_log) <= 4, middle_log
