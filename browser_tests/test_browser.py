"""A person's visit in real headless Chromium: register, post, reply, edit, delete.

Starts the forum on a real waitress server (committing for real), drives
Debian's Chromium with Playwright, checks the counters the pages show after
every step, and saves a screenshot of the thread page. Run by
``make browser-test`` (not by ``make test``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright
from sqlalchemy.orm import Session
from webtest.http import StopableWSGIServer

from tests.factories import make_board

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
def server(app, committed_engine):
    with Session(committed_engine) as session:
        make_board(session, "general", "General discussion")
        session.commit()
    server = StopableWSGIServer.create(app, threads=4)
    try:
        yield server.application_url.rstrip("/")
    finally:
        server.shutdown()


@pytest.fixture
def page():
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: apt-get install chromium (or set FORUM_CHROMIUM)"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1000, "height": 800})
        yield context.new_page()
        context.close()
        browser.close()


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

    # Delete the reply: back to 4 words, 1 comment; the board agrees.
    page.locator("li.comment").nth(1).locator("button:has-text('Delete')").click()
    expect(page.locator(".flash")).to_have_text("Comment deleted.")
    page.goto(thread_url)
    assert counts(page) == ("4", "1")
    page.click(".crumbs >> text=General discussion")
    assert counts(page) == ("1", "1")
    row = page.locator("table.listing tbody tr").first
    expect(row).to_contain_text(re.compile(r"Counting in the browser\s+dana\s+4\s+1"))


@pytest.fixture(autouse=True, scope="module")
def _screenshot_folder():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
