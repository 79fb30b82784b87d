"""Less common ORM paths, under every strategy: expired objects, parents created in the
same transaction, savepoints, discarded changes, merge. (Found by a review; each once
failed under at least one strategy.)"""

from __future__ import annotations

import pytest
from sqlalchemy import inspect
from sqlalchemy.orm import Session

from forum.models import Board, Comment, Thread

from .counter_helpers import assert_session_exact
from .factories import add_comment
from .world import World

pytestmark = pytest.mark.usefixtures("counter_strategy")


def test_models_declare_the_history_the_strategies_read():
    """Old values must be loaded before a set, whichever strategy is installed."""
    for attribute in (Comment.message, Comment.thread_id, Thread.board_id):
        assert attribute.property.columns[0] is not None
        assert inspect(attribute.class_).attrs[attribute.key].class_attribute.impl.active_history


# --- expired objects (after a commit) -----------------------------------------------


def test_edit_an_expired_comment(world: World):
    w = world
    c = add_comment(w.session, w.t1, w.alice, "two words")
    w.session.commit()  # expires c
    c.message = "now four words here"
    w.session.commit()
    assert w.db(w.t1) == (7, 2)
    assert_session_exact(w.session)


@pytest.mark.parametrize("how", ["key", "relationship"])
def test_move_an_expired_comment(world: World, how):
    w = world
    c = add_comment(w.session, w.t1, w.alice, "two words")
    w.session.commit()
    if how == "key":
        c.thread_id = w.t3.id
    else:
        c.thread = w.t3
    w.session.commit()
    assert (w.db(w.t1), w.db(w.t3)) == ((3, 1), (5, 2))
    assert_session_exact(w.session)


def test_move_an_expired_thread_by_key(world: World):
    w = world
    w.t1.board_id = w.two.id
    w.session.commit()
    assert (w.db(w.one), w.db(w.two)) == ((1, 1), (2, 2))
    assert_session_exact(w.session)


def test_edit_then_delete_an_expired_comment(world: World):
    w = world
    c = add_comment(w.session, w.t1, w.alice, "two words")
    w.session.commit()
    c.message = "now it has five words"
    w.session.delete(c)
    w.session.commit()
    assert w.db(w.t1) == (3, 1)
    assert_session_exact(w.session)


# --- parents created in the same transaction ------------------------------------------


def test_new_comment_naming_a_new_thread_by_key(world: World):
    w = world
    alice_id = w.alice.id
    thread = Thread(board=w.one, author=w.alice, title="new")
    w.session.add(thread)
    w.session.add(Comment(thread_id=thread.id, author_id=alice_id, message="a b c d"))
    w.session.flush()
    assert (thread.word_count, thread.comment_count) == (4, 1)
    assert_session_exact(w.session)


def test_move_a_comment_by_key_into_a_new_thread(world: World):
    w = world
    comment = w.opening_post(w.t1)
    thread = Thread(board=w.two, author=w.alice, title="new")
    w.session.add(thread)
    comment.thread_id = thread.id
    w.session.flush()
    assert (thread.word_count, thread.comment_count) == (3, 1)
    assert_session_exact(w.session)


def test_new_board_thread_and_comment_counts_in_memory(world: World):
    w = world
    board = Board(slug="three", title="Three")
    thread = Thread(board=board, author=w.alice, title="fresh")
    w.session.add(Comment(thread=thread, author=w.alice, message="first post here"))
    w.session.flush()
    assert w.db(board) == (1, 1)
    assert (board.thread_count, board.comment_count) == (1, 1)
    assert (thread.word_count, thread.comment_count) == (3, 1)


def test_existing_thread_moved_to_a_new_board(world: World):
    w = world
    board = Board(slug="three", title="Three")
    w.session.add(board)
    w.t1.board = board
    w.session.flush()
    assert w.db(board) == (1, 1)
    assert (board.thread_count, board.comment_count) == (1, 1)
    assert_session_exact(w.session)


def test_existing_comment_moved_into_a_new_thread(world: World):
    w = world
    comment = w.opening_post(w.t1)
    thread = Thread(board=w.one, author=w.alice, title="new")
    w.session.add(thread)
    comment.thread = thread
    w.session.flush()
    assert w.db(thread) == (3, 1)
    assert (thread.word_count, thread.comment_count) == (3, 1)
    assert_session_exact(w.session)


# --- savepoints ----------------------------------------------------------------------


@pytest.mark.parametrize("how", ["key", "relationship"])
def test_a_rolled_back_savepoint_leaves_memory_as_before(world: World, how):
    w = world
    assert (w.t1.comment_count, w.one.comment_count) == (1, 2)
    savepoint = w.session.begin_nested()
    if how == "key":
        w.session.add(Comment(thread_id=w.t1.id, author_id=w.alice.id, message="x y"))
    else:
        w.session.add(Comment(thread=w.t1, author=w.alice, message="x y"))
    w.session.flush()
    savepoint.rollback()
    assert w.db(w.t1) == (3, 1) and w.db(w.one) == (2, 2)
    assert (w.t1.word_count, w.t1.comment_count) == (3, 1)
    assert (w.one.thread_count, w.one.comment_count) == (2, 2)
    assert_session_exact(w.session)


# --- unflushed changes thrown away ------------------------------------------------------


@pytest.mark.parametrize("discard", ["expunge", "expire", "refresh"])
def test_a_discarded_edit_is_not_counted(world: World, discard):
    w = world
    comment = w.opening_post(w.t1)
    comment.message = "one"
    getattr(w.session, discard)(comment)
    w.session.commit()
    assert w.db(w.t1) == (3, 1)
    assert_session_exact(w.session)


@pytest.mark.parametrize("discard", ["expunge", "expire", "refresh"])
def test_a_discarded_move_is_not_counted(world: World, discard):
    """By key: a move by relationship also lives in the threads' collections, and
    SQLAlchemy still writes it through them when the comment's change is discarded."""
    w = world
    comment = w.opening_post(w.t1)
    comment.thread_id = w.t3.id
    getattr(w.session, discard)(comment)
    w.session.commit()
    assert (w.db(w.t1), w.db(w.t3)) == ((3, 1), (3, 1))
    assert_session_exact(w.session)


# --- counters changed outside the strategy ----------------------------------------------


def test_merging_a_detached_thread_keeps_the_counters(world: World):
    w = world
    detached = w.t1
    detached.title  # noqa: B018 - loaded: its counters are (3, 1)
    w.session.expunge(detached)
    add_comment(w.session, w.session.get(Thread, detached.id), w.alice, "x y")  # now (5, 2)
    detached.title = "renamed"  # a form edit of a cached copy
    w.session.merge(detached)
    w.session.commit()
    merged = w.session.get(Thread, detached.id)
    assert (merged.title, w.db(merged)) == ("renamed", (5, 2))
    assert_session_exact(w.session)


def test_assigning_a_counter_is_not_written(world: World, caplog):
    w = world
    w.t1.word_count = 1000
    w.session.commit()
    assert w.db(w.t1) == (3, 1)
    assert "made outside the counter strategy" in caplog.text
    assert_session_exact(w.session)


def test_a_session_is_not_needed_to_read(world: World, dbsession: Session):
    assert dbsession.get(Thread, world.t1.id).word_count == 3
