"""The Redis cache: two app instances share it, and an outage fails no request.

Redis is the local one (``FORUM_TEST_REDIS_URL`` when CI started its own),
database 14, under a key prefix of this run's own; only keys with that
prefix are deleted afterwards.
"""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from forum.models import TEST_CONNECTION_KEY

from .counter_helpers import statements_on
from .factories import make_board, make_thread, make_user
from .harness import TEST_SETTINGS
from .page_browser import Browser
from .test_search_refresh import TEST_BROKER

#: The tests' Redis, on a database of the cache tests' own.
REDIS_URL = urlunsplit(urlsplit(TEST_BROKER)._replace(path="/14"))
TABLES = ("FROM boards", "FROM threads", "FROM comments")


def build_app(**settings: str):
    from forum import main

    return main({}, **{**TEST_SETTINGS, **settings})


@pytest.fixture(scope="module")
def prefix() -> Iterator[str]:
    import redis

    prefix = f"forum-test-{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    stale = list(client.scan_iter(match=prefix + "*", count=1000))
    if stale:
        client.delete(*stale)


@pytest.fixture(scope="module")
def two_apps(database_url, prefix):
    """Two app instances, as two web processes would be: nothing shared but Redis."""
    settings = {
        "forum.cache_backend": "redis",
        "forum.cache_url": REDIS_URL,
        "forum.cache_prefix": prefix,
    }
    return build_app(**settings), build_app(**settings)


def browser(app, connection: Connection) -> Browser:
    from webtest import TestApp

    return Browser(TestApp(app, extra_environ={TEST_CONNECTION_KEY: connection}))


def reads(browser: Browser, connection: Connection, path: str) -> list[str]:
    with statements_on(connection) as log:
        browser.get(path)
    return [s for s in log if s.startswith("SELECT") and any(t in s for t in TABLES)]


@pytest.fixture
def data(dbsession: Session) -> dict[str, str]:
    # A slug of this test's own: the rows are rolled back, the Redis keys stay until the end.
    slug = f"b{uuid.uuid4().hex[:8]}"
    alice = make_user(dbsession, "alice")
    make_user(dbsession, "bob")
    thread = make_thread(dbsession, make_board(dbsession, slug), alice, "one two three")
    dbsession.commit()
    return {"slug": slug, "thread": str(thread.id)}


def test_a_second_instance_sees_a_write_made_through_the_first(two_apps, connection, data):
    assert all(app.registry["cache"].region.backend.distributed_lock for app in two_apps)
    first, second = (browser(app, connection) for app in two_apps)
    thread, board = f"/t/{data['thread']}", f"/b/{data['slug']}"
    for path in (thread, board):
        assert reads(second, connection, path), "a miss"
        assert reads(second, connection, path) == [], "then a hit"
        assert reads(first, connection, path) == [], "the first instance shares the value"
    assert second.thread_counts(data["thread"]) == (3, 1)

    first.sign_in("bob")
    first.submit(first.get(thread), "/reply", message="four five")

    assert second.thread_counts(data["thread"]) == (5, 2)
    assert second.board_counts(data["slug"]) == (1, 2)
    shown = second.get(thread).html.select("li.comment .message")
    assert [m.get_text() for m in shown] == ["one two three", "four five"]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed when the block ends: nothing listens


def test_redis_down_serves_every_page_from_the_database(database_url, connection, data, caplog):
    app = build_app(
        **{
            "forum.cache_backend": "redis",
            "forum.cache_url": f"redis://127.0.0.1:{closed_port()}/0",
        }
    )
    b = browser(app, connection)
    thread = f"/t/{data['thread']}"
    with caplog.at_level(logging.WARNING, logger="forum.cache"):
        for path in ("/", f"/b/{data['slug']}", thread, "/search?q=three", "/api/boards"):
            assert b.get(path).status_int == 200
        assert reads(b, connection, thread), "read from the database"
        b.sign_in("bob")
        b.submit(b.get(thread), "/reply", message="still works")  # 303: the write committed
    assert b.thread_counts(data["thread"]) == (5, 2)
    warnings = [r for r in caplog.records if r.name == "forum.cache.store"]
    assert warnings and all(r.levelno == logging.WARNING for r in warnings)
    assert "cache unreachable while reading" in warnings[0].getMessage()
    assert any("while invalidating" in r.getMessage() for r in warnings)
