"""What a real forum has: user pages, page numbers, Markdown, previews, confirmations.

Also the small things a newcomer trips on: the phone layout's columns, every
registration error at once, thousands separators, relative times.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, select, update
from sqlalchemy.orm import Session

from forum.models import Board, Comment, Thread, User
from forum.views.pages.formatting import ago, number

from . import test_pages
from .counter_helpers import statements_on
from .factories import TEST_PASSWORD, add_comment, make_thread
from .test_pages import Site

site = test_pages.site  # the same small forum as the other page tests

ROOT = Path(__file__).resolve().parent.parent


# --- the phone layout: the boards page keeps its Threads column ----------------------------


def test_only_columns_marked_wide_only_give_way_on_a_phone(site: Site):
    css = (ROOT / "forum" / "static" / "forum.css").read_text()
    narrow = css[css.index("@media (max-width: 40rem)") :]
    narrow = narrow[: narrow.index("}\n}") + 3]
    assert "nth-child" not in narrow
    assert ".wide-only" in narrow
    boards = site.browser.get("/")
    assert not boards.html.select("table.listing .wide-only")
    assert [th.get_text() for th in boards.html.select("table.listing th")] == [
        "Board",
        "Threads",
        "Comments",
    ]
    board = site.browser.get("/b/general")
    hidden = [th.get_text() for th in board.html.select("table.listing th.wide-only")]
    assert hidden == ["Author", "Last activity"]


# --- deleting asks first, without JavaScript ---------------------------------------------


def test_delete_links_lead_to_a_confirmation_form(site: Site):
    b = site.browser
    b.sign_in("mod")
    thread = b.get(f"/t/{site.thread_id}")
    assert not thread.html.select("form[action$='/delete']")  # no one-click delete
    confirm = thread.click(href=f"/c/{site.comment_id}/delete")
    assert confirm.html.select_one("h1").text == "Delete this comment?"
    assert "a reply" in confirm.html.select_one("blockquote").get_text()
    keep = confirm.html.find("a", string="No, keep it")["href"]
    assert keep.startswith(f"/t/{site.thread_id}?at=")
    assert b.thread_counts(site.thread_id) == (5, 2)


def test_confirmation_pages_check_who_asks(site: Site):
    b = site.browser
    assert b.get(f"/c/{site.comment_id}/delete", status=303).location.startswith(
        "http://localhost/login?next="
    )
    b.sign_in("bob")
    b.get(f"/c/{site.comment_id}/delete", status=403)
    b.get(f"/t/{site.thread_id}/delete", status=403)
    b.get("/c/not-an-id/delete", status=404)


# --- registration: every error at once, tied to its field --------------------------------


def test_register_shows_every_fields_error_at_once(site: Site):
    b = site.browser
    page = b.submit(
        b.get("/register"),
        "/register",
        status=422,
        username="ALICE",
        password="short",
        password_again="other",
    )
    errors = {
        field: b.text(page, f"#{field}-error")
        for field in ("username", "password", "password_again")
    }
    assert errors == {
        "username": "The username 'alice' is taken.",
        "password": "Password must be at least 10 characters.",
        "password_again": "The two passwords differ.",
    }
    for field in errors:
        control = page.html.select_one(f"#{field}")
        assert control["aria-invalid"] == "true"
        assert f"{field}-error" in control["aria-describedby"].split()
    assert page.html.select_one("#username")["aria-describedby"].split() == [
        "username-hint",
        "username-error",
    ]


def test_a_clean_register_form_marks_nothing_invalid(site: Site):
    page = site.browser.get("/register")
    assert not page.html.select("[aria-invalid]")
    assert page.html.select_one("#password")["aria-describedby"] == "password-hint"


# --- numbers and moments ---------------------------------------------------------------


def test_large_counts_have_thousands_separators(site: Site, connection: Connection):
    connection.execute(
        update(Thread.__table__).where(Thread.id == site.thread_id).values(word_count=98093)
    )
    connection.execute(update(Board.__table__).values(comment_count=1234567))
    b = site.browser
    assert b.text(b.get(f"/t/{site.thread_id}"), ".counts .word-count") == "98,093"
    assert b.get("/b/general").html.select_one(f"#t-{site.thread_id} .word-count").text == (
        "98,093"
    )
    assert "1,234,567" in b.get("/").html.select_one(".comment-count").text


def test_number_and_ago():
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    assert number(98093) == "98,093" and number(5) == "5"
    assert ago(now - timedelta(seconds=10), now) == "just now"
    assert ago(now - timedelta(minutes=3, seconds=20), now) == "3 minutes ago"
    assert ago(now - timedelta(hours=1), now) == "1 hour ago"
    assert ago(now - timedelta(days=2), now) == "2 days ago"
    assert ago(now - timedelta(days=400), now) == "1 year ago"


def test_times_are_relative_with_the_exact_time_on_hover(site: Site):
    page = site.browser.get(f"/t/{site.thread_id}")
    moment = page.html.select_one("li.comment .meta time")
    assert moment.text == "just now"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", moment["title"])
    assert datetime.fromisoformat(moment["datetime"])


def test_permalinks_are_named_by_their_time(site: Site):
    page = site.browser.get(f"/t/{site.thread_id}")
    assert not page.html.find("a", string="link")
    permalinks = page.html.select("li.comment a.permalink")
    assert len(permalinks) == 2
    assert all(link.select_one("time") for link in permalinks)
    assert permalinks[1]["href"].endswith(f"#c-{site.comment_id}")
    assert len({link["aria-label"] for link in permalinks}) >= 1


def test_an_edited_comment_says_so(site: Site, connection: Connection):
    page = site.browser.get(f"/t/{site.thread_id}")
    assert not page.html.select(".edited")
    connection.execute(
        update(Comment.__table__)
        .where(Comment.id == site.comment_id)
        .values(updated_at=Comment.created_at + timedelta(minutes=5))
    )
    page = site.browser.get(f"/t/{site.thread_id}")
    (edited,) = page.html.select(".edited")
    assert edited.find_parent("li")["id"] == f"c-{site.comment_id}"
    assert edited.select_one("time")["title"]


# --- the header, the skip link, the New thread button ------------------------------------


def test_header_search_has_a_button_and_a_skip_link_leads_to_the_content(site: Site):
    page = site.browser.get("/")
    search = page.html.select_one("header form.header-search")
    assert search.select_one("button[type=submit]").text == "Search"
    skip = page.html.select_one("body > a.skip-link")
    assert skip == page.html.select_one("body a")  # the first link on the page
    assert page.html.select_one(skip["href"]).name == "main"


def test_new_thread_button_at_the_top_of_a_board(site: Site):
    page = site.browser.get("/b/general")
    button = page.html.select_one(".title-row a.button")
    assert button.text == "New thread"
    assert page.html.select_one(button["href"]).select_one("h2").text == "Start a thread"


# --- user pages --------------------------------------------------------------------------


def test_names_link_to_user_pages(site: Site):
    b = site.browser
    b.sign_in("bob")
    board = b.get("/b/general")
    assert board.html.select_one(f"#t-{site.thread_id} a.user")["href"] == "/u/alice"
    thread = b.get(f"/t/{site.thread_id}")
    assert {a["href"] for a in thread.html.select("li.comment a.user")} == {"/u/alice"}
    assert thread.html.select_one("header .who a")["href"] == "/u/bob"


def test_user_page_lists_comments_and_threads_newest_first(site: Site, dbsession: Session):
    alice = dbsession.scalars(select(User).where(User.username == "alice")).one()
    help_board = dbsession.scalars(select(Board).where(Board.slug == "help")).one()
    newer = make_thread(dbsession, help_board, alice, "newest words", title="Later one")
    dbsession.commit()
    b = site.browser
    page = b.get("/u/ALICE")  # names are not case-sensitive
    assert b.text(page, "h1") == "alice"
    messages = [m.get_text(strip=True) for m in page.html.select("li.comment .message")]
    assert messages == ["newest words", "a reply", "hello there forum"]
    # The fifth counter: users.comment_count, kept by the strategy, never counted on read.
    assert b.text(page, ".counts .comment-count") == "3"
    threads = page.click(href="/u/alice/threads")
    titles = [a.text for a in threads.html.select("table.listing tbody td:first-child a")]
    assert titles == ["Later one", "Hello"]
    assert threads.html.select_one(f"#t-{newer.id} .word-count").text == "2"


def test_user_pages_are_keyset_paged(site: Site, dbsession: Session, connection: Connection):
    bob = dbsession.scalars(select(User).where(User.username == "bob")).one()
    thread = dbsession.get(Thread, site.other_id)
    for n in range(55):
        add_comment(dbsession, thread, bob, f"note {n}")
    dbsession.commit()
    b = site.browser
    first = b.get("/u/bob")
    shown = [m.get_text(strip=True) for m in first.html.select("li.comment .message")]
    assert len(shown) == 50 and shown[0] == "note 54"
    with statements_on(connection) as log:
        older = first.click(href="after=")
    assert all("OFFSET" not in s and "count(" not in s.lower() for s in log)
    shown = [m.get_text(strip=True) for m in older.html.select("li.comment .message")]
    assert shown == ["note 4", "note 3", "note 2", "note 1", "note 0", "over here"]
    assert not older.html.select("a[rel=next]")
    newer = older.click(href="before=")
    assert newer.html.select("li.comment .message")[0].get_text(strip=True) == "note 54"


@pytest.mark.parametrize("path", ["/u/nobody", "/u/" + "x" * 300, "/u/%00", "/u/a%20b"])
def test_unknown_users_are_a_404(site: Site, path: str):
    site.browser.get(path, status=404)


@pytest.mark.parametrize(
    "path",
    ["/b/%00", "/t/%00", "/c/%00/delete", "/u/alice/threads?after=%00", "/t/{t}?p=%00",
     "/b/general?p=99999999999999999999999", "/t/{t}?at=%00&p=2"],
)  # fmt: skip
def test_hostile_addresses_are_never_a_500(site: Site, path: str):
    page = site.browser.get(path.format(t=site.thread_id), status="*")
    assert page.status_int < 500, path


def test_a_broken_user_page_link_is_a_400(site: Site):
    site.browser.get("/u/alice?after=garbage", status=400)


# --- page numbers, from the counters ------------------------------------------------------


def _grow(dbsession: Session, thread_id: str, extra: int) -> None:
    alice = dbsession.scalars(select(User).where(User.username == "alice")).one()
    thread = dbsession.get(Thread, thread_id)
    for n in range(extra):
        add_comment(dbsession, thread, alice, f"filler {n}")
    dbsession.commit()


def test_thread_pages_say_where_you_are(site: Site, dbsession: Session, connection: Connection):
    _grow(dbsession, site.thread_id, 120)  # 122 comments: 3 pages of 50
    b = site.browser
    first = b.get(f"/t/{site.thread_id}")
    assert b.text(first, ".pager .where") == "Page 1 of 3"
    assert first.html.select_one(".pager a[rel=last]")["href"].endswith("?last=1")
    with statements_on(connection) as log:
        second = first.click(href="after=", index=0)
    assert all("OFFSET" not in s and "count(" not in s.lower() for s in log)
    assert b.text(second, ".pager .where") == "Page 2 of 3"
    assert b.text(second, ".pager .current") == "2"
    last = second.click(href="after=", index=0)
    assert b.text(last, ".pager .where") == "Page 3 of 3"
    assert not last.html.select("a[rel=next]")
    back = last.click(href="before=", index=0)
    assert b.text(back, ".pager .where") == "Page 2 of 3"
    jumped = b.get(f"/t/{site.thread_id}?last=1")
    assert b.text(jumped, ".pager .where") == "Page 3 of 3"
    assert jumped.html.select("li.comment")[-1].select_one("#newest") is not None


def test_a_permalink_page_knows_the_total_only(site: Site, dbsession: Session):
    _grow(dbsession, site.thread_id, 120)
    b = site.browser
    page = b.get(f"/t/{site.thread_id}")
    middle = page.html.select("li.comment a.permalink")[10]["href"]
    landed = b.get(middle)
    assert b.text(landed, ".pager .where") == "3 pages"


def test_a_nonsense_page_number_is_ignored_not_an_error(site: Site, dbsession: Session):
    _grow(dbsession, site.thread_id, 120)
    b = site.browser
    second = b.get(f"/t/{site.thread_id}").click(href="after=", index=0)
    for p in ("abc", "-5", "999999", "1e9"):
        path = re.sub(r"p=\d+", f"p={p}", second.request.path_qs)
        page = b.get(path)
        assert b.text(page, ".pager .where") in ("3 pages", "Page 2 of 3", "Page 3 of 3")


def test_board_pages_say_where_you_are(site: Site, dbsession: Session):
    alice = dbsession.scalars(select(User).where(User.username == "alice")).one()
    general = dbsession.scalars(select(Board).where(Board.slug == "general")).one()
    for n in range(60):
        make_thread(dbsession, general, alice, "x", title=f"T{n}")
    dbsession.commit()
    b = site.browser
    first = b.get("/b/general")
    assert b.text(first, ".pager .where") == "Page 1 of 2"
    row = first.html.select_one("table.listing tbody tr")
    assert row.select_one("a.newest")["href"].endswith("?last=1#newest")
    second = first.click(href="after=", index=0)
    assert b.text(second, ".pager .where") == "Page 2 of 2"


# --- Markdown, rendered safely; a preview before posting -------------------------------------

XSS = [
    '<script>alert("x")</script>',
    '"><img src=x onerror=alert(1)>',
    "[click](javascript:alert(1))",
    "[click](JAVASCRIPT:alert(1))",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "<javascript:alert(1)>",
    '[t](http://x.example "a\\" onmouseover=\\"alert(1))',
    "![pixel](https://tracker.example/p.png)",
    '<a href="https://evil.example" onclick="alert(1)">raw</a>',
    "<iframe src=https://evil.example></iframe>",
    "<div style=background:url(javascript:alert(1))>x</div>",
]


@pytest.mark.parametrize("payload", XSS)
def test_markdown_payloads_render_inert(site: Site, payload: str):
    b = site.browser
    b.sign_in("bob")
    page = b.submit(b.get(f"/t/{site.thread_id}"), "/reply", message=payload).follow()
    shown = page.html.select("li.comment .message")[-1]
    assert not shown.select("script, img, iframe, div, [onerror], [onclick], [onmouseover]")
    assert not shown.select("[style]")
    for link in shown.select("a"):
        assert link["href"].startswith(("http://", "https://")), link
        assert link["rel"] == ["nofollow", "ugc", "noopener"]
    html = str(shown).lower()
    assert ("<script" not in html and "javascript:alert" not in html.replace("&amp;", "&")) or (
        'href="javascript' not in html
    )
    assert 'href="javascript' not in html and 'href="vbscript' not in html
    assert 'href="data:' not in html


def test_markdown_links_and_emphasis(site: Site):
    b = site.browser
    b.sign_in("bob")
    message = "Read **this** and [the docs](https://example.org/a?b=1&c=2) `now`"
    page = b.submit(b.get(f"/t/{site.thread_id}"), "/reply", message=message).follow()
    shown = page.html.select("li.comment .message")[-1]
    assert shown.select_one("strong").text == "this"
    link = shown.select_one("a")
    assert link["href"] == "https://example.org/a?b=1&c=2"
    assert link["rel"] == ["nofollow", "ugc", "noopener"]
    assert shown.select_one("code").text == "now"
    # Words are counted on the text as written, markup characters and all.
    assert page.html.select("li.comment .word-count")[-1].text == str(len(message.split()))


@pytest.mark.usefixtures("counter_strategy")
def test_preview_shows_the_rendered_reply_and_writes_nothing(site: Site):
    b = site.browser
    b.sign_in("bob")
    form = b.form(b.get(f"/t/{site.thread_id}"), "/reply")
    form["message"] = "**bold** <b>raw</b>"
    page = form.submit("preview", status=200)
    preview = page.html.select_one(".preview .message")
    assert preview.select_one("strong").text == "bold"
    assert not preview.select("b")
    assert page.html.select_one("#reply textarea").text == "**bold** <b>raw</b>"
    assert b.thread_counts(site.thread_id) == (5, 2)
    posted = b.form(page, "/reply").submit().follow()
    assert b.thread_counts(site.thread_id) == (7, 3)  # "**bold**" and "<b>raw</b>": 2 words
    assert posted.html.select("li.comment .message strong")[-1].text == "bold"


def test_preview_of_a_new_thread_and_of_an_edit(site: Site):
    b = site.browser
    b.sign_in("alice")
    form = b.form(b.get("/b/general"), "/threads")
    form["title"], form["message"] = "A title", "*fine*"
    page = form.submit("preview", status=200)
    assert page.html.select_one(".preview em").text == "fine"
    assert page.html.select_one("#title")["value"] == "A title"
    assert b.board_counts("general") == (1, 2)
    form = b.form(b.get(f"/c/{site.comment_id}/edit"), "/edit")
    form["message"] = "# heading"
    page = form.submit("preview", status=200)
    assert page.html.select_one(".preview h1").text == "heading"
    assert b.thread_counts(site.thread_id) == (5, 2)


def test_an_invalid_preview_is_shown_by_its_field(site: Site):
    b = site.browser
    b.sign_in("bob")
    form = b.form(b.get(f"/t/{site.thread_id}"), "/reply")
    form["message"] = "   "
    page = form.submit("preview", status=422)
    assert b.text(page, "#message-error") == "message must not be empty"
    assert page.html.select_one("#message")["aria-invalid"] == "true"
    assert not page.html.select(".preview")


# --- changing your password -----------------------------------------------------------------


def test_change_password(site: Site):
    b = site.browser
    assert b.get("/account/password", status=303).location.startswith("http://localhost/login")
    b.sign_in("alice")
    page = b.get("/").click(href="/account/password")
    done = b.submit(
        page,
        "/account/password",
        current_password=TEST_PASSWORD,
        new_password="a brand new password",
        new_password_again="a brand new password",
    ).follow()
    assert "Your password is changed." in done.text
    b.submit(b.get("/logout"), "/logout")
    form = b.form(b.get("/login"), "/login")
    form["username"], form["password"] = "alice", TEST_PASSWORD
    form.submit(status=422)
    b.sign_in("alice", "a brand new password")


def test_change_password_shows_every_error_at_once(site: Site):
    b = site.browser
    b.sign_in("alice")
    page = b.submit(
        b.get("/account/password"),
        "/account/password",
        status=422,
        current_password="wrong",
        new_password="short",
        new_password_again="other",
    )
    assert b.text(page, "#current_password-error") == "That is not your current password."
    assert b.text(page, "#new_password-error") == "New password must be at least 10 characters."
    assert b.text(page, "#new_password_again-error") == "The two new passwords differ."
    assert all(page.html.select_one(f"#{f}")["aria-invalid"] == "true" for f in (
        "current_password", "new_password", "new_password_again"))  # fmt: skip
    assert not any(i.get("value") for i in page.html.select("input[type=password]"))
    b.submit(b.get("/logout"), "/logout")
    b.sign_in("alice")  # the old password still works


def test_change_password_needs_the_csrf_token(site: Site):
    b = site.browser
    b.sign_in("alice")
    b.post_raw(
        "/account/password",
        status=403,
        current_password=TEST_PASSWORD,
        new_password="a brand new password",
        new_password_again="a brand new password",
    )
