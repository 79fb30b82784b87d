"""A person's visit in real headless Chromium: register, post, reply, edit, delete.

Starts the forum on a real waitress server (committing for real), drives
Debian's Chromium with Playwright, checks the counters the pages show after
every step, and saves screenshots of the thread page; then the same forum on
a phone-sized screen (390 px wide), where the boards page must still show its
Threads column. Run by ``make browser-test`` (not by ``make test``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright
from webtest.http import StopableWSGIServer

from forum import counting
from forum.counting import CountedSession
from tests.factories import add_comment, make_board, make_thread, make_user

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("FORUM_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = ROOT / "var" / "screenshots"
# What the machine notes say Chromium needs here: no sandbox as root, and no
# background connections to a network that is closed.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def server(app, committed_engine, request: pytest.FixtureRequest):
    """The app on a real HTTP server; with the strategy the test asks for, if it asks."""
    if "counter_strategy" in request.fixturenames:
        strategy = request.getfixturevalue("counter_strategy")
        counting.install(app.registry["dbsession_factory"], strategy)
    with CountedSession(committed_engine) as session:
        make_board(session, "general", "General discussion")
        session.commit()
    server = StopableWSGIServer.create(app, threads=4)
    try:
        yield server.application_url.rstrip("/")
    finally:
        server.shutdown()


PHONE = {"width": 390, "height": 844}


def _browser_page(viewport: dict, **options):
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: apt-get install chromium (or set FORUM_CHROMIUM)"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=viewport, **options)
        yield context.new_page()
        context.close()
        browser.close()


@pytest.fixture
def page():
    yield from _browser_page({"width": 1000, "height": 800})


@pytest.fixture
def phone():
    yield from _browser_page(PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)


def counts(page: Page) -> tuple[str, str]:
    return (
        page.locator(".counts .word-count, .counts .thread-count").first.inner_text(),
        page.locator(".counts .comment-count").first.inner_text(),
    )


def test_a_visit_from_register_to_delete(server: str, page: Page, counter_strategy: str):
    # Register: the new account is signed in at once.
    page.goto(server + "/register")
    page.fill("#username", "Dana")
    page.fill("#password", "a long enough password")
    page.fill("#password_again", "a long enough password")
    page.click("button:has-text('Register')")
    expect(page.locator(".who")).to_contain_text("signed in as dana")
    expect(page.locator("footer .strategy")).to_have_text(counter_strategy)

    # Sign out and in again through the forms.
    page.click("header button:has-text('Sign out')")
    expect(page.locator(".flash")).to_have_text("You are signed out.")
    page.click("text=Sign in")
    page.fill("#username", "dana")
    page.fill("#password", "a long enough password")
    page.click("form button:has-text('Sign in')")
    expect(page.locator(".flash")).to_have_text("Welcome back, dana.")

    # Start a thread: 4 words, 1 comment; the board shows 1 thread, 1 comment.
    page.click("text=General discussion")
    assert counts(page) == ("0", "0")
    page.fill("#title", "Counting in the browser")
    page.fill("#message", "four words right here")
    page.click("button:has-text('Post thread')")
    expect(page.locator("h1")).to_have_text("Counting in the browser")
    assert counts(page) == ("4", "1")
    thread_url = page.url.split("?")[0]

    # Reply: 4 + 3 words, 2 comments.
    page.fill("#message", "a short reply")
    page.click("button:has-text('Post reply')")
    expect(page.locator(".flash")).to_have_text("Reply posted.")
    assert counts(page) == ("7", "2")

    # Edit the reply to 6 words: 4 + 6 = 10.
    page.locator("li.comment").nth(1).locator("text=Edit").click()
    page.fill("#message", "a longer reply with six words")
    page.click("button:has-text('Save')")
    expect(page.locator(".flash")).to_have_text("Comment saved.")
    page.goto(thread_url)
    assert counts(page) == ("10", "2")
    page.screenshot(path=str(SCREENSHOTS / f"thread-page-{counter_strategy}.png"), full_page=True)

    # Delete the reply, after saying yes: back to 4 words, 1 comment; the board agrees.
    page.locator("li.comment").nth(1).locator("text=Delete…").click()
    expect(page.locator("h1")).to_have_text("Delete this comment?")
    page.click("text=No, keep it")  # back to the comment, still there
    expect(page).to_have_url(re.compile(r"#c-"))
    page.goto(thread_url)
    assert counts(page) == ("10", "2")
    page.locator("li.comment").nth(1).locator("text=Delete…").click()
    page.click("button:has-text('Yes, delete this comment')")
    expect(page.locator(".flash")).to_have_text("Comment deleted.")
    page.goto(thread_url)
    assert counts(page) == ("4", "1")
    page.click(".crumbs >> text=General discussion")
    assert counts(page) == ("1", "1")
    row = page.locator("table.listing tbody tr").first
    expect(row).to_contain_text(re.compile(r"Counting in the browser\s+dana\s+4\s+1"))


@pytest.fixture
def busy_forum(server, committed_engine) -> str:
    """The server with a second board, two members and a thread with a Markdown reply."""
    from sqlalchemy import select

    from forum.models import Board

    with CountedSession(committed_engine) as session:
        general = session.scalars(select(Board).where(Board.slug == "general")).one()
        help_board = make_board(session, "help", "Help and questions")
        alice, bob = make_user(session, "alice"), make_user(session, "bob")
        thread = make_thread(
            session,
            general,
            alice,
            "Counters are kept **exact** by the strategy in the footer.",
            title="How the counts stay right",
        )
        add_comment(session, thread, bob, "Nice. See [the notes](/strategies) for *why*.")
        make_thread(session, help_board, bob, "Where do I start?", title="First steps")
        session.commit()
        thread_id = str(thread.id)
    return thread_id


def test_a_phone_sees_every_count(server: str, busy_forum: str, phone: Page):
    phone.goto(server + "/")
    threads_header = phone.locator("table.listing th", has_text="Threads")
    expect(threads_header).to_be_visible()
    for cell in phone.locator("table.listing td.thread-count").all():
        expect(cell).to_be_visible()
        box = cell.bounding_box()
        assert box is not None and box["x"] + box["width"] <= PHONE["width"], box
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone.screenshot(path=str(SCREENSHOTS / "boards-phone.png"), full_page=True)

    phone.click("text=General discussion")
    expect(phone.locator("table.listing th", has_text="Author")).to_be_hidden()
    expect(phone.locator("table.listing th", has_text="Comments")).to_be_visible()
    phone.click("text=How the counts stay right")
    expect(phone.locator("li.comment .message strong")).to_have_text("exact")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone.screenshot(path=str(SCREENSHOTS / "thread-phone.png"), full_page=True)


def test_a_wide_screen_for_the_readme(server: str, busy_forum: str, page: Page):
    page.goto(server + "/")
    page.screenshot(path=str(SCREENSHOTS / "boards.png"), full_page=True)
    page.goto(f"{server}/t/{busy_forum}")
    page.screenshot(path=str(SCREENSHOTS / "thread.png"), full_page=True)


@pytest.fixture(autouse=True, scope="module")
def _screenshot_folder():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
