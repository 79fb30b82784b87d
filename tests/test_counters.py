"""Every counter scenario, under every strategy (the ``counter_strategy`` fixture).

Each test states the numbers it expects and then checks the whole database
against the truth (``assert_session_exact``).
"""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select, update

from forum.counting import CounterBypassError
from forum.models import Board, Comment, Thread

from .counter_helpers import (
    assert_session_exact,
    statements_on,
    stored_thread,
)
from .factories import add_comment

pytestmark = pytest.mark.usefixtures("counter_strategy")


# 1. creating comments ----------------------------------------------------------


def test_new_thread_with_opening_post(world):
    w = world
    assert w.db(w.t1) == (3, 1)
    assert w.db(w.one) == (2, 2)
    assert w.db(w.two) == (1, 1)
    assert_session_exact(w.session)


def test_create_by_appending_to_collection(world):
    w = world
    w.t1.comments.append(Comment(author=w.alice, message="one two"))
    w.session.commit()
    assert (w.t1.word_count, w.t1.comment_count) == (5, 2)
    assert w.db(w.one) == (2, 3)
    assert_session_exact(w.session)


@pytest.mark.parametrize("thread_first", [True, False], ids=["thread-first", "message-first"])
def test_create_with_thread_keyword(world, thread_first):
    w = world
    if thread_first:
        comment = Comment(thread=w.t1, author=w.alice, message="four words right here")
    else:
        comment = Comment(message="four words right here", author=w.alice, thread=w.t1)
    w.session.add(comment)
    w.session.commit()
    assert w.db(w.t1) == (7, 2)
    assert w.db(w.one) == (2, 3)
    assert_session_exact(w.session)


def test_create_with_thread_id_only(world):
    w = world
    w.session.add(Comment(thread_id=w.t1.id, author_id=w.alice.id, message="just the key"))
    w.session.commit()
    assert w.db(w.t1) == (6, 2)
    assert w.db(w.one) == (2, 3)
    assert_session_exact(w.session)


def test_create_with_thread_id_of_unloaded_thread(world):
    w = world
    thread_id, author_id = w.t1.id, w.alice.id
    w.session.expunge_all()
    w.session.add(Comment(thread_id=thread_id, author_id=author_id, message="a b"))
    w.session.commit()
    assert stored_thread(w.session.connection(), thread_id) == (5, 2)
    assert_session_exact(w.session)


def test_empty_message_counts_as_a_comment_with_no_words(world):
    w = world
    add_comment(w.session, w.t1, w.alice, "")
    w.session.commit()
    assert w.db(w.t1) == (3, 2)
    assert_session_exact(w.session)


# 2. editing messages -------------------------------------------------------------


@pytest.mark.parametrize(
    ("new_message", "expected_words"),
    [
        ("alpha beta gamma delta epsilon", 5),  # more words
        ("alpha", 1),  # fewer words
        ("alpha beta gamma", 3),  # the same text
        ("alpha\tbeta \n\n gamma  ", 3),  # white space only
        ("", 0),  # emptied
    ],
    ids=["more", "fewer", "same-text", "whitespace-only", "emptied"],
)
def test_edit_message(world, new_message, expected_words):
    w = world
    opening = w.opening_post(w.t1)
    opening.message = new_message
    w.session.commit()
    assert w.db(w.t1) == (expected_words, 1)
    assert w.db(w.one) == (2, 2)
    assert_session_exact(w.session)


def test_edit_twice_before_flush(world):
    w = world
    opening = w.opening_post(w.t1)
    opening.message = "one"
    opening.message = "one two three four five six"
    w.session.commit()
    assert w.db(w.t1) == (6, 1)
    assert_session_exact(w.session)


# 3. moving comments ------------------------------------------------------------------


@pytest.mark.parametrize("how", ["relationship", "key"])
def test_move_within_board(world, how):
    w = world
    comment = add_comment(w.session, w.t1, w.alice, "moving two")
    w.session.commit()
    if how == "relationship":
        comment.thread = w.t2
    else:
        comment.thread_id = w.t2.id
    w.session.commit()
    assert w.db(w.t1) == (3, 1)
    assert w.db(w.t2) == (5, 2)
    assert w.db(w.one) == (2, 3)
    assert_session_exact(w.session)


@pytest.mark.parametrize("how", ["relationship", "key"])
def test_move_to_another_board(world, how):
    w = world
    comment = add_comment(w.session, w.t1, w.alice, "moving two")
    w.session.commit()
    if how == "relationship":
        comment.thread = w.t3
    else:
        comment.thread_id = w.t3.id
    w.session.commit()
    assert w.db(w.t1) == (3, 1)
    assert w.db(w.t3) == (5, 2)
    assert w.db(w.one) == (2, 2)
    assert w.db(w.two) == (1, 2)
    assert_session_exact(w.session)


def test_move_and_edit_together(world):
    w = world
    comment = add_comment(w.session, w.t1, w.alice, "moving two")
    w.session.commit()
    comment.thread = w.t3
    comment.message = "now four words long"
    w.session.commit()
    assert w.db(w.t1) == (3, 1)
    assert w.db(w.t3) == (7, 2)
    assert (w.db(w.one), w.db(w.two)) == ((2, 2), (1, 2))
    assert_session_exact(w.session)


def test_move_back_and_forth_before_flush(world):
    w = world
    comment = add_comment(w.session, w.t1, w.alice, "x y")
    w.session.commit()
    comment.thread = w.t3
    comment.thread = w.t2
    comment.thread = w.t1
    w.session.commit()
    assert (w.db(w.t1), w.db(w.t2), w.db(w.t3)) == ((5, 2), (3, 1), (3, 1))
    assert_session_exact(w.session)


def test_move_thread_to_another_board(world):
    w = world
    add_comment(w.session, w.t1, w.alice, "x y")
    w.session.commit()
    w.t1.board = w.two
    w.session.commit()
    assert w.db(w.one) == (1, 1)
    assert w.db(w.two) == (2, 3)
    assert_session_exact(w.session)


# 4. deleting ---------------------------------------------------------------------------


def test_delete_comment(world):
    w = world
    comment = add_comment(w.session, w.t1, w.alice, "short lived")
    w.session.commit()
    w.session.delete(comment)
    w.session.commit()
    assert w.db(w.t1) == (3, 1)
    assert w.db(w.one) == (2, 2)
    assert_session_exact(w.session)


def test_delete_edited_comment_before_flush(world):
    w = world
    comment = add_comment(w.session, w.t1, w.alice, "two words")
    w.session.commit()
    comment.message = "now it has five words"
    w.session.delete(comment)
    w.session.commit()
    assert w.db(w.t1) == (3, 1)
    assert_session_exact(w.session)


def test_delete_thread(world):
    w = world
    add_comment(w.session, w.t1, w.alice, "a b c d")
    add_comment(w.session, w.t1, w.alice, "e f")
    w.session.commit()
    assert w.db(w.one) == (2, 4)
    w.session.delete(w.t1)
    w.session.commit()
    assert w.session.scalar(select(func.count()).where(Comment.thread_id == w.t1.id)) == 0
    assert w.db(w.one) == (1, 1)
    assert w.db(w.two) == (1, 1)
    assert_session_exact(w.session)


def test_delete_thread_with_its_comments_loaded(world):
    w = world
    add_comment(w.session, w.t1, w.alice, "a b c d")
    w.session.commit()
    assert len(w.t1.comments) == 2  # loaded, so the ORM deletes them itself
    w.session.delete(w.t1)
    w.session.commit()
    assert w.db(w.one) == (1, 1)
    assert_session_exact(w.session)


def test_delete_a_comment_and_its_thread_together(world):
    w = world
    comment = add_comment(w.session, w.t1, w.alice, "a b c d")
    w.session.commit()
    w.session.delete(comment)
    w.session.delete(w.t1)
    w.session.commit()
    assert w.db(w.one) == (1, 1)
    assert_session_exact(w.session)


def test_move_comment_out_of_a_thread_being_deleted(world):
    w = world
    comment = add_comment(w.session, w.t1, w.alice, "a b c d")
    w.session.commit()
    comment.thread = w.t3
    w.session.delete(w.t1)
    w.session.commit()
    assert w.db(w.one) == (1, 1)
    assert w.db(w.two) == (1, 2)
    assert w.db(w.t3) == (7, 2)
    assert_session_exact(w.session)


def test_remove_from_collection_deletes_orphan(world):
    w = world
    comment = add_comment(w.session, w.t1, w.alice, "orphan soon")
    w.session.commit()
    w.t1.comments.remove(comment)
    w.session.commit()
    assert w.db(w.t1) == (3, 1)
    assert w.db(w.one) == (2, 2)
    assert_session_exact(w.session)


# 5. several changes in one transaction -------------------------------------------------


def test_create_edit_delete_same_comment_before_any_flush(world):
    w = world
    with w.session.no_autoflush:
        comment = Comment(thread=w.t1, author=w.alice, message="one two")
        w.session.add(comment)
        comment.message = "one two three four"
        # A pending comment is not in the database yet: "deleting" it means taking
        # it off its thread, and delete-orphan then takes it out of the w.session.
        comment.thread = None
    assert comment not in w.session
    w.session.commit()
    assert w.db(w.t1) == (3, 1)
    assert w.db(w.one) == (2, 2)
    assert_session_exact(w.session)


def test_create_edit_then_delete_after_a_flush(world):
    w = world
    comment = Comment(thread=w.t1, author=w.alice, message="one two")
    w.session.add(comment)
    comment.message = "one two three four"
    w.session.flush()
    assert w.db(w.t1) == (7, 2)
    w.session.delete(comment)
    w.session.commit()
    assert w.db(w.t1) == (3, 1)
    assert w.db(w.one) == (2, 2)
    assert_session_exact(w.session)


def test_many_changes_with_a_flush_in_the_middle(world):
    w = world
    a = add_comment(w.session, w.t1, w.alice, "a a a")
    b = Comment(thread=w.t2, author=w.alice, message="b b")
    w.session.add(b)
    a.message = "a"
    w.session.flush()
    b.thread = w.t3
    a.thread = w.t2
    w.session.add(Comment(thread=w.t3, author=w.alice, message="c c c c"))
    w.session.flush()
    w.session.delete(a)
    b.message = "b b b b b"
    w.session.commit()
    assert w.db(w.t1) == (3, 1)
    assert w.db(w.t2) == (3, 1)
    assert w.db(w.t3) == (3 + 5 + 4, 3)
    assert w.db(w.one) == (2, 2)
    assert w.db(w.two) == (1, 3)
    assert_session_exact(w.session)


def test_new_thread_and_comments_in_one_flush(world):
    w = world
    thread = Thread(board=w.one, author=w.alice, title="fresh")
    w.session.add_all(
        [
            Comment(thread=thread, author=w.alice, message="first post here"),
            Comment(thread=thread, author=w.alice, message="a reply"),
        ]
    )
    w.session.commit()
    assert w.db(thread) == (5, 2)
    assert w.db(w.one) == (3, 4)
    assert_session_exact(w.session)


def test_new_board_thread_and_comment_in_one_flush(world):
    w = world
    board = Board(slug="three", title="Three")
    thread = Thread(board=board, author=w.alice, title="fresh")
    w.session.add(Comment(thread=thread, author=w.alice, message="first post here"))
    w.session.commit()
    assert w.db(board) == (1, 1)
    assert w.db(thread) == (3, 1)
    assert_session_exact(w.session)


# 6. rollback ------------------------------------------------------------------------------


def test_rollback_restores_memory_and_database(world):
    w = world
    before = (w.db(w.t1), w.db(w.t2), w.db(w.one))
    opening = w.opening_post(w.t1)
    opening.message = "changed into five words"
    add_comment(w.session, w.t1, w.alice, "extra words")
    w.session.add(Comment(thread=w.t2, author=w.alice, message="pending only"))
    w.session.rollback()
    assert (w.t1.word_count, w.t1.comment_count) == before[0]
    assert (w.t2.word_count, w.t2.comment_count) == before[1]
    assert (w.one.thread_count, w.one.comment_count) == before[2]
    assert (w.db(w.t1), w.db(w.t2), w.db(w.one)) == before
    assert_session_exact(w.session)


def test_rollback_of_a_thread_delete(world):
    w = world
    w.session.delete(w.t1)
    w.session.flush()
    w.session.rollback()
    assert w.db(w.one) == (2, 2)
    assert (w.one.thread_count, w.one.comment_count) == (2, 2)
    assert_session_exact(w.session)


# 7. ORM bulk statements are refused --------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        update(Comment).values(message="bulk edit"),
        delete(Comment),
        delete(Thread),
        update(Thread).values(board_id=1),
    ],
    ids=["update-comments", "delete-comments", "delete-threads", "update-threads"],
)
def test_bulk_statements_are_refused(world, statement):
    w = world
    with pytest.raises(CounterBypassError, match="bypass the counter strategy"):
        w.session.execute(statement)
    assert w.session.scalar(select(func.count()).select_from(Comment)) == 3
    assert w.db(w.one) == (2, 2)
    assert_session_exact(w.session)


def test_bulk_insert_of_comments_is_refused(world):
    w = world
    from sqlalchemy import insert

    with pytest.raises(CounterBypassError):
        w.session.execute(
            insert(Comment), [{"thread_id": w.t1.id, "author_id": w.alice.id, "message": "x"}]
        )
    assert w.db(w.t1) == (3, 1)


# 8. no counter UPDATE when nothing changes ------------------------------------------------


@pytest.mark.parametrize(
    "new_message",
    ["alpha beta gamma", "alpha  beta\ngamma", "one two three"],
    ids=["same-text", "whitespace-only", "same-word-count"],
)
def test_edit_keeping_word_count_issues_no_counter_update(world, new_message):
    w = world
    opening = w.opening_post(w.t1)
    with statements_on(w.session.connection()) as log:
        opening.message = new_message
        w.session.flush()
    assert log.counter_updates() == []
    expected_comment_updates = 0 if new_message == "alpha beta gamma" else 1
    assert len(log.matching("UPDATE comments")) == expected_comment_updates
    assert_session_exact(w.session)


def test_moving_to_the_same_thread_issues_no_counter_update(world):
    w = world
    opening = w.opening_post(w.t1)
    with statements_on(w.session.connection()) as log:
        opening.thread = w.t1
        opening.thread_id = w.t1.id
        w.session.flush()
    assert log.counter_updates() == []


# 9. a thread with no comments left ---------------------------------------------------------


def test_thread_emptied_has_zero_counters(world):
    w = world
    add_comment(w.session, w.t1, w.alice, "second")
    w.session.commit()
    for comment in w.session.scalars(select(Comment).where(Comment.thread_id == w.t1.id)).all():
        w.session.delete(comment)
    w.session.commit()
    assert w.db(w.t1) == (0, 0)
    assert (w.t1.word_count, w.t1.comment_count) == (0, 0)
    assert w.db(w.one) == (2, 1)
    assert_session_exact(w.session)
