"""A session's copy of a thread goes stale (another transaction moved or deleted it):
every strategy refuses to count from it (StaleDataError: the request is retried).
And transactions that touch the same threads lock them in the same order."""

from __future__ import annotations

import contextlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.exc import StaleDataError

from forum import counting
from forum.counters.prepared import original
from forum.counting import CountedSession
from forum.models import Comment, Thread

from .counter_helpers import assert_no_drift
from .factories import make_board, make_thread, make_user
from .world import World

pytestmark = pytest.mark.usefixtures("counter_strategy")


def another_transaction(connection: Connection, change) -> None:
    """Commit ``change(session)`` from a second session, as another request would."""
    with CountedSession(bind=connection, join_transaction_mode="create_savepoint") as other:
        change(other)
        other.commit()


def move_t1_to_board_two(w: World):
    return lambda other: setattr(other.get(Thread, w.t1.id), "board_id", w.two.id)


def refused_and_exact(w: World) -> None:
    """The stale session's flush is refused, and nothing drifted."""
    with pytest.raises(StaleDataError):
        w.session.commit()
    w.session.rollback()
    assert_no_drift(w.session.connection())


def test_moving_a_thread_that_moved_meanwhile(world: World, connection):
    w = world
    three = make_board(w.session, "three")
    w.session.commit()
    w.t1.board_id  # noqa: B018 - this session's copy: t1 on board one
    another_transaction(connection, move_t1_to_board_two(w))
    w.t1.board = three
    refused_and_exact(w)


def test_deleting_a_thread_that_moved_meanwhile(world: World, connection):
    w = world
    w.t1.board_id  # noqa: B018
    another_transaction(connection, move_t1_to_board_two(w))
    w.session.delete(w.t1)
    refused_and_exact(w)


def test_deleting_a_thread_deleted_meanwhile(world: World, connection):
    w = world
    w.t1.board_id  # noqa: B018
    another_transaction(connection, lambda other: other.delete(other.get(Thread, w.t1.id)))
    w.session.delete(w.t1)
    refused_and_exact(w)


def test_commenting_on_a_thread_that_moved_meanwhile(world: World, connection):
    w = world
    w.t1.board_id  # noqa: B018
    another_transaction(connection, move_t1_to_board_two(w))
    w.session.add(Comment(thread=w.t1, author=w.alice, message="a b"))
    w.session.commit()  # counted on the board the thread is on now
    assert (w.db(w.one), w.db(w.two)) == ((1, 1), (2, 3))
    assert_no_drift(w.session.connection())


def test_retrying_after_the_refusal_counts_right(world: World, connection):
    w = world
    w.t1.board_id  # noqa: B018
    another_transaction(connection, move_t1_to_board_two(w))
    w.session.delete(w.t1)
    with pytest.raises(StaleDataError):
        w.session.commit()
    w.session.rollback()
    w.session.delete(w.session.get(Thread, w.t1.id))  # the retry, from fresh rows
    w.session.commit()
    assert (w.db(w.one), w.db(w.two)) == ((1, 1), (1, 1))
    assert_no_drift(w.session.connection())


@pytest.mark.concurrency
def test_a_delta_and_a_move_lock_threads_in_one_order(committed_engine: Engine, counter_strategy):
    """A adds a comment to X and moves Y; B adds to Y and moves X, both in one flush.

    attribute and before_flush lock every thread in one sorted pass: no deadlock.
    after_insert locks rows in the order the flush writes them (its documented
    trade-off): PostgreSQL detects the deadlock, and the retry makes it right.
    """
    engine = committed_engine
    with CountedSession(engine) as s:
        alice = make_user(s)
        one, two = make_board(s, "one"), make_board(s, "two")
        x = make_thread(s, one, alice, "a b", title="x")
        y = make_thread(s, one, alice, "a b", title="y")
        s.commit()
        author, xid, yid, board_two = alice.id, x.id, y.id, two.id
    both_at_their_first_lock = threading.Barrier(2, timeout=2)
    deadlocks = []

    def flush_once(comment_into, move) -> None:
        with CountedSession(engine) as s:
            moved = s.get(Thread, move)
            connection = s.connection()
            with s.no_autoflush:  # one flush: the comment and the move together
                s.add(Comment(thread_id=comment_into, author_id=author, message="new words"))
                if moved.board_id != board_two:
                    moved.board_id = board_two

            @event.listens_for(connection, "before_cursor_execute")
            def pause(conn, cursor, statement, *args):
                statement = original(conn, statement)  # a prepared counter statement's SQL
                touches_threads = "FOR UPDATE" in statement or statement.startswith(
                    "UPDATE threads"
                )
                if "threads" in statement and touches_threads:
                    with contextlib.suppress(threading.BrokenBarrierError):
                        both_at_their_first_lock.wait()

            s.commit()

    def work(comment_into, move) -> None:
        for _ in range(3):
            try:
                flush_once(comment_into, move)
                return
            except DBAPIError as error:
                if getattr(error.orig, "pgcode", None) != "40P01":
                    raise
                deadlocks.append(error)  # retried, as pyramid_retry would

    with ThreadPoolExecutor(2) as pool:
        a = pool.submit(work, xid, yid)
        b = pool.submit(work, yid, xid)
        a.result(timeout=60)
        b.result(timeout=60)
    if counter_strategy != "after_insert":
        assert deadlocks == []
    with engine.connect() as connection:
        assert_no_drift(connection)


def test_strategies_install_cleanly_after_one_another():
    for name in ("after_insert", "before_flush", "attribute", "after_insert"):
        assert counting.use(name).name == name


def test_a_delete_waiting_on_a_move_takes_from_the_new_board(
    committed_engine: Engine, counter_strategy
):
    """A moves thread X to an empty board and holds its lock; B deletes a comment of X and
    waits; A commits. B's comment leaves the board X is on now (the new one).

    One statement could lock X and update its board (a CTE whose RETURNING names the
    board), but its snapshot predates A's commit: the new board's row as of then has no
    comments, and PostgreSQL evaluates ``CHECK (comment_count >= 0)`` on that stale row
    before re-reading it, refusing a correct decrement. Taking away is two statements."""
    engine = committed_engine
    with CountedSession(engine) as s:
        alice = make_user(s)
        one, empty = make_board(s, "one"), make_board(s, "empty")
        x = make_thread(s, one, alice, "a b", title="x")
        reply = Comment(thread=x, author=alice, message="c d e")
        s.add(reply)
        s.commit()
        xid, reply_id, empty_id = x.id, reply.id, empty.id

    mover = CountedSession(engine)
    mover.get(Thread, xid).board_id = empty_id
    mover.flush()  # X is locked until the mover commits

    def delete_the_reply() -> None:
        with CountedSession(engine) as s:
            s.delete(s.get(Comment, reply_id))
            s.commit()

    with ThreadPoolExecutor(1) as pool:
        deleting = pool.submit(delete_the_reply)
        time.sleep(0.5)  # the delete is waiting for X's lock
        assert not deleting.done()
        mover.commit()
        mover.close()
        deleting.result(timeout=30)
    with engine.connect() as connection:
        assert_no_drift(connection)
