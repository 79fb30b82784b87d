"""Many writers at once, real commits, every strategy: no lost updates, no double counts.

These tests commit for real from several connections (``committed_engine``
empties the tables afterwards). Deadlocks, serialization failures and stale
comments are retried, as pyramid_retry does for requests, and counted.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from forum.counting import CountedSession
from forum.models import Comment, Thread
from forum.outage import is_retryable

from .counter_helpers import assert_no_drift, stored_board, stored_thread
from .factories import make_board, make_thread, make_user

pytestmark = [pytest.mark.concurrency, pytest.mark.usefixtures("counter_strategy")]

WRITERS = 8
OPERATIONS_PER_WRITER = 40


class Gone(Exception):
    """The comment an operation wanted was deleted by another writer first."""


def run_transaction(engine: Engine, work: Callable[[Session], None], stats: Counter) -> None:
    """Run ``work`` in its own transaction, again after a retryable error."""
    for _ in range(20):
        with CountedSession(engine) as session:
            try:
                work(session)
                session.commit()
                stats["committed"] += 1
                return
            except Gone:
                stats["gone"] += 1
                return
            except Exception as error:
                session.rollback()
                if not is_retryable(error):
                    raise
                stats["retried"] += 1
    raise AssertionError("a transaction kept failing after 20 attempts")


@pytest.fixture
def two_threads(committed_engine: Engine):
    """Two committed threads on two boards, each with an opening post."""
    with CountedSession(committed_engine) as session:
        alice = make_user(session, "alice")
        one, two = make_board(session, "one"), make_board(session, "two")
        t1 = make_thread(session, one, alice, "first thread opening post")
        t2 = make_thread(session, two, alice, "second thread opening post")
        session.commit()
        return committed_engine, alice.id, (t1.id, t2.id), (one.id, two.id)


def _random_comment(session: Session, rng: random.Random, thread_ids) -> Comment:
    comment = session.scalars(
        select(Comment)
        .where(Comment.thread_id == rng.choice(thread_ids))
        .order_by(func.random())
        .limit(1)
    ).first()
    if comment is None:
        raise Gone
    return comment


def test_many_writers_on_two_threads(two_threads):
    engine, author_id, thread_ids, board_ids = two_threads
    stats: Counter = Counter()
    lock = threading.Lock()

    def writer(seed: int) -> Counter:
        rng = random.Random(seed)
        mine: Counter = Counter()
        for _ in range(OPERATIONS_PER_WRITER):
            kind = rng.choice(["create", "create", "edit", "move", "delete"])
            words = " ".join(rng.choice("abcdefg") for _ in range(rng.randint(0, 12)))

            def work(session: Session, kind=kind, words=words) -> None:
                if kind == "create":
                    thread = session.get(Thread, rng.choice(thread_ids))
                    session.add(Comment(thread=thread, author_id=author_id, message=words))
                elif kind == "edit":
                    _random_comment(session, rng, thread_ids).message = words
                elif kind == "move":
                    comment = _random_comment(session, rng, thread_ids)
                    other = thread_ids[1] if comment.thread_id == thread_ids[0] else thread_ids[0]
                    comment.thread = session.get(Thread, other)
                else:
                    session.delete(_random_comment(session, rng, thread_ids))
                session.flush()

            run_transaction(engine, work, mine)
            mine[kind] += 1
        with lock:
            stats.update(mine)
        return mine

    with ThreadPoolExecutor(WRITERS) as pool:
        list(pool.map(writer, range(WRITERS)))

    assert stats["committed"] + stats["gone"] == WRITERS * OPERATIONS_PER_WRITER
    with engine.connect() as connection:
        assert_no_drift(connection)
        total = connection.scalar(select(func.count()).select_from(Comment))
        t1, t2 = (stored_thread(connection, t)[1] for t in thread_ids)
        b1, b2 = (stored_board(connection, b) for b in board_ids)
    assert t1 + t2 == total
    assert (b1[1], b2[1]) == (t1, t2)
    assert stats["create"] > 0 and stats["move"] > 0 and stats["delete"] > 0


def test_concurrent_increments_are_not_lost(two_threads):
    """Both writers read the thread's counters before either commits."""
    engine, author_id, (t1, _), (board_one, _) = two_threads
    both_loaded = threading.Barrier(2)

    def add(message: str) -> None:
        with CountedSession(engine) as session:
            thread = session.get(Thread, t1)
            assert thread.word_count == 4  # both see the value before either change
            both_loaded.wait()
            session.add(Comment(thread=thread, author_id=author_id, message=message))
            session.commit()

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(add, ["one two", "one two three"]))

    with engine.connect() as connection:
        assert stored_thread(connection, t1) == (4 + 2 + 3, 3)
        assert stored_board(connection, board_one) == (1, 3)
        assert_no_drift(connection)


def _comment_in(engine: Engine, thread_id: uuid.UUID, author_id: int, message: str) -> uuid.UUID:
    with CountedSession(engine) as session:
        comment = Comment(thread_id=thread_id, author_id=author_id, message=message)
        session.add(comment)
        session.commit()
        return comment.id


def test_two_sessions_deleting_the_same_comment_decrement_once(two_threads):
    engine, author_id, (t1, _), (board_one, _) = two_threads
    comment_id = _comment_in(engine, t1, author_id, "doomed comment here")

    first, second = CountedSession(engine), CountedSession(engine)
    try:
        first.delete(first.get(Comment, comment_id))
        second.delete(second.get(Comment, comment_id))
        first.flush()  # holds the row lock until it commits

        def second_flush() -> Exception | None:
            try:
                second.flush()
            except Exception as error:
                return error
            return None

        with ThreadPoolExecutor(1) as pool:
            outcome = pool.submit(second_flush)  # waits for the first's lock
            first.commit()
            error = outcome.result(timeout=30)
        assert isinstance(error, StaleDataError)
        second.rollback()
    finally:
        first.close()
        second.close()

    with engine.connect() as connection:
        assert stored_thread(connection, t1) == (4, 1)
        assert stored_board(connection, board_one) == (1, 1)
        assert_no_drift(connection)


def test_two_sessions_editing_the_same_comment_apply_one_net_change(two_threads):
    engine, author_id, (t1, _), _ = two_threads
    comment_id = _comment_in(engine, t1, author_id, "a b c")
    stats: Counter = Counter()
    both_loaded = threading.Barrier(2)

    def edit(message: str) -> None:
        attempts = iter(range(100))

        def work(session: Session) -> None:
            comment = session.get(Comment, comment_id)
            if next(attempts) == 0:
                assert comment.message == "a b c"  # both start from the same old text
                both_loaded.wait()
            comment.message = message
            session.flush()

        run_transaction(engine, work, stats)

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(edit, ["one two three four five", "x"]))

    assert stats["retried"] >= 1  # the loser saw a stale comment and ran again
    with engine.connect() as connection:
        final = connection.scalar(select(Comment.message).where(Comment.id == comment_id))
        assert stored_thread(connection, t1) == (4 + len(final.split()), 2)
        assert_no_drift(connection)
