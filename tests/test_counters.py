"""Every counter scenario, under every strategy (the ``counter_strategy`` fixture).

Each test states the numbers it expects and then checks the whole database
against the truth (``assert_session_exact``).
"""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from forum.events import CounterBypassError
from forum.models import Board, Comment, Thread

from .counter_helpers import (
    assert_session_exact,
    statements_on,
    stored_board,
    stored_thread,
)
from .factories import add_comment, make_board, make_thread, make_user

pytestmark = pytest.mark.usefixtures("counter_strategy")


@pytest.fixture
def world(dbsession: Session):
    """Two boards; board one holds threads t1 and t2, board two holds t3.

    Each thread has an opening post of three words.
    """
    alice = make_user(dbsession, "alice")
    one, two = make_board(dbsession, "one"), make_board(dbsession, "two")
    t1 = make_thread(dbsession, one, alice, "alpha beta gamma", title="t1")
    t2 = make_thread(dbsession, one, alice, "delta epsilon zeta", title="t2")
    t3 = make_thread(dbsession, two, alice, "eta theta iota", title="t3")
    dbsession.commit()
    return dbsession, alice, one, two, t1, t2, t3


def db(session: Session, obj: Thread | Board) -> tuple[int, int]:
    if isinstance(obj, Thread):
        return stored_thread(session.connection(), obj.id)
    return stored_board(session.connection(), obj.id)


# 1. creating comments ----------------------------------------------------------


def test_new_thread_with_opening_post(world):
    session, alice, one, two, t1, t2, t3 = world
    assert db(session, t1) == (3, 1)
    assert db(session, one) == (2, 2)
    assert db(session, two) == (1, 1)
    assert_session_exact(session)


def test_create_by_appending_to_collection(world):
    session, alice, one, _, t1, _, _ = world
    t1.comments.append(Comment(author=alice, message="one two"))
    session.commit()
    assert (t1.word_count, t1.comment_count) == (5, 2)
    assert db(session, one) == (2, 3)
    assert_session_exact(session)


@pytest.mark.parametrize("thread_first", [True, False], ids=["thread-first", "message-first"])
def test_create_with_thread_keyword(world, thread_first):
    session, alice, one, _, t1, _, _ = world
    if thread_first:
        comment = Comment(thread=t1, author=alice, message="four words right here")
    else:
        comment = Comment(message="four words right here", author=alice, thread=t1)
    session.add(comment)
    session.commit()
    assert db(session, t1) == (7, 2)
    assert db(session, one) == (2, 3)
    assert_session_exact(session)


def test_create_with_thread_id_only(world):
    session, alice, one, _, t1, _, _ = world
    session.add(Comment(thread_id=t1.id, author_id=alice.id, message="just the key"))
    session.commit()
    assert db(session, t1) == (6, 2)
    assert db(session, one) == (2, 3)
    assert_session_exact(session)


def test_create_with_thread_id_of_unloaded_thread(world):
    session, alice, one, _, t1, _, _ = world
    thread_id, author_id = t1.id, alice.id
    session.expunge_all()
    session.add(Comment(thread_id=thread_id, author_id=author_id, message="a b"))
    session.commit()
    assert stored_thread(session.connection(), thread_id) == (5, 2)
    assert_session_exact(session)


def test_empty_message_counts_as_a_comment_with_no_words(world):
    session, alice, _, _, t1, _, _ = world
    add_comment(session, t1, alice, "")
    session.commit()
    assert db(session, t1) == (3, 2)
    assert_session_exact(session)


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
    session, _, one, _, t1, _, _ = world
    opening = session.scalars(select(Comment).where(Comment.thread_id == t1.id)).one()
    opening.message = new_message
    session.commit()
    assert db(session, t1) == (expected_words, 1)
    assert db(session, one) == (2, 2)
    assert_session_exact(session)


def test_edit_twice_before_flush(world):
    session, _, _, _, t1, _, _ = world
    opening = session.scalars(select(Comment).where(Comment.thread_id == t1.id)).one()
    opening.message = "one"
    opening.message = "one two three four five six"
    session.commit()
    assert db(session, t1) == (6, 1)
    assert_session_exact(session)


# 3. moving comments ------------------------------------------------------------------


@pytest.mark.parametrize("how", ["relationship", "key"])
def test_move_within_board(world, how):
    session, alice, one, _, t1, t2, _ = world
    comment = add_comment(session, t1, alice, "moving two")
    session.commit()
    if how == "relationship":
        comment.thread = t2
    else:
        comment.thread_id = t2.id
    session.commit()
    assert db(session, t1) == (3, 1)
    assert db(session, t2) == (5, 2)
    assert db(session, one) == (2, 3)
    assert_session_exact(session)


@pytest.mark.parametrize("how", ["relationship", "key"])
def test_move_to_another_board(world, how):
    session, alice, one, two, t1, _, t3 = world
    comment = add_comment(session, t1, alice, "moving two")
    session.commit()
    if how == "relationship":
        comment.thread = t3
    else:
        comment.thread_id = t3.id
    session.commit()
    assert db(session, t1) == (3, 1)
    assert db(session, t3) == (5, 2)
    assert db(session, one) == (2, 2)
    assert db(session, two) == (1, 2)
    assert_session_exact(session)


def test_move_and_edit_together(world):
    session, alice, one, two, t1, _, t3 = world
    comment = add_comment(session, t1, alice, "moving two")
    session.commit()
    comment.thread = t3
    comment.message = "now four words long"
    session.commit()
    assert db(session, t1) == (3, 1)
    assert db(session, t3) == (7, 2)
    assert (db(session, one), db(session, two)) == ((2, 2), (1, 2))
    assert_session_exact(session)


def test_move_back_and_forth_before_flush(world):
    session, alice, _, _, t1, t2, t3 = world
    comment = add_comment(session, t1, alice, "x y")
    session.commit()
    comment.thread = t3
    comment.thread = t2
    comment.thread = t1
    session.commit()
    assert (db(session, t1), db(session, t2), db(session, t3)) == ((5, 2), (3, 1), (3, 1))
    assert_session_exact(session)


def test_move_thread_to_another_board(world):
    session, alice, one, two, t1, _, _ = world
    add_comment(session, t1, alice, "x y")
    session.commit()
    t1.board = two
    session.commit()
    assert db(session, one) == (1, 1)
    assert db(session, two) == (2, 3)
    assert_session_exact(session)


# 4. deleting ---------------------------------------------------------------------------


def test_delete_comment(world):
    session, alice, one, _, t1, _, _ = world
    comment = add_comment(session, t1, alice, "short lived")
    session.commit()
    session.delete(comment)
    session.commit()
    assert db(session, t1) == (3, 1)
    assert db(session, one) == (2, 2)
    assert_session_exact(session)


def test_delete_edited_comment_before_flush(world):
    session, alice, _, _, t1, _, _ = world
    comment = add_comment(session, t1, alice, "two words")
    session.commit()
    comment.message = "now it has five words"
    session.delete(comment)
    session.commit()
    assert db(session, t1) == (3, 1)
    assert_session_exact(session)


def test_delete_thread(world):
    session, alice, one, two, t1, t2, _ = world
    add_comment(session, t1, alice, "a b c d")
    add_comment(session, t1, alice, "e f")
    session.commit()
    assert db(session, one) == (2, 4)
    session.delete(t1)
    session.commit()
    assert session.scalar(select(func.count()).where(Comment.thread_id == t1.id)) == 0
    assert db(session, one) == (1, 1)
    assert db(session, two) == (1, 1)
    assert_session_exact(session)


def test_delete_thread_with_its_comments_loaded(world):
    session, alice, one, _, t1, _, _ = world
    add_comment(session, t1, alice, "a b c d")
    session.commit()
    assert len(t1.comments) == 2  # loaded, so the ORM deletes them itself
    session.delete(t1)
    session.commit()
    assert db(session, one) == (1, 1)
    assert_session_exact(session)


def test_delete_a_comment_and_its_thread_together(world):
    session, alice, one, _, t1, _, _ = world
    comment = add_comment(session, t1, alice, "a b c d")
    session.commit()
    session.delete(comment)
    session.delete(t1)
    session.commit()
    assert db(session, one) == (1, 1)
    assert_session_exact(session)


def test_move_comment_out_of_a_thread_being_deleted(world):
    session, alice, one, two, t1, _, t3 = world
    comment = add_comment(session, t1, alice, "a b c d")
    session.commit()
    comment.thread = t3
    session.delete(t1)
    session.commit()
    assert db(session, one) == (1, 1)
    assert db(session, two) == (1, 2)
    assert db(session, t3) == (7, 2)
    assert_session_exact(session)


def test_remove_from_collection_deletes_orphan(world):
    session, alice, one, _, t1, _, _ = world
    comment = add_comment(session, t1, alice, "orphan soon")
    session.commit()
    t1.comments.remove(comment)
    session.commit()
    assert db(session, t1) == (3, 1)
    assert db(session, one) == (2, 2)
    assert_session_exact(session)


# 5. several changes in one transaction -------------------------------------------------


def test_create_edit_delete_same_comment_before_any_flush(world):
    session, alice, one, _, t1, _, _ = world
    with session.no_autoflush:
        comment = Comment(thread=t1, author=alice, message="one two")
        session.add(comment)
        comment.message = "one two three four"
        # A pending comment is not in the database yet: "deleting" it means taking
        # it off its thread, and delete-orphan then takes it out of the session.
        comment.thread = None
    assert comment not in session
    session.commit()
    assert db(session, t1) == (3, 1)
    assert db(session, one) == (2, 2)
    assert_session_exact(session)


def test_create_edit_then_delete_after_a_flush(world):
    session, alice, one, _, t1, _, _ = world
    comment = Comment(thread=t1, author=alice, message="one two")
    session.add(comment)
    comment.message = "one two three four"
    session.flush()
    assert db(session, t1) == (7, 2)
    session.delete(comment)
    session.commit()
    assert db(session, t1) == (3, 1)
    assert db(session, one) == (2, 2)
    assert_session_exact(session)


def test_many_changes_with_a_flush_in_the_middle(world):
    session, alice, one, two, t1, t2, t3 = world
    a = add_comment(session, t1, alice, "a a a")
    b = Comment(thread=t2, author=alice, message="b b")
    session.add(b)
    a.message = "a"
    session.flush()
    b.thread = t3
    a.thread = t2
    session.add(Comment(thread=t3, author=alice, message="c c c c"))
    session.flush()
    session.delete(a)
    b.message = "b b b b b"
    session.commit()
    assert db(session, t1) == (3, 1)
    assert db(session, t2) == (3, 1)
    assert db(session, t3) == (3 + 5 + 4, 3)
    assert db(session, one) == (2, 2)
    assert db(session, two) == (1, 3)
    assert_session_exact(session)


def test_new_thread_and_comments_in_one_flush(world):
    session, alice, one, _, _, _, _ = world
    thread = Thread(board=one, author=alice, title="fresh")
    session.add_all(
        [
            Comment(thread=thread, author=alice, message="first post here"),
            Comment(thread=thread, author=alice, message="a reply"),
        ]
    )
    session.commit()
    assert db(session, thread) == (5, 2)
    assert db(session, one) == (3, 4)
    assert_session_exact(session)


def test_new_board_thread_and_comment_in_one_flush(world):
    session, alice, _, _, _, _, _ = world
    board = Board(slug="three", title="Three")
    thread = Thread(board=board, author=alice, title="fresh")
    session.add(Comment(thread=thread, author=alice, message="first post here"))
    session.commit()
    assert db(session, board) == (1, 1)
    assert db(session, thread) == (3, 1)
    assert_session_exact(session)


# 6. rollback ------------------------------------------------------------------------------


def test_rollback_restores_memory_and_database(world):
    session, alice, one, _, t1, t2, _ = world
    before = (db(session, t1), db(session, t2), db(session, one))
    opening = session.scalars(select(Comment).where(Comment.thread_id == t1.id)).one()
    opening.message = "changed into five words"
    add_comment(session, t1, alice, "extra words")
    session.add(Comment(thread=t2, author=alice, message="pending only"))
    session.rollback()
    assert (t1.word_count, t1.comment_count) == before[0]
    assert (t2.word_count, t2.comment_count) == before[1]
    assert (one.thread_count, one.comment_count) == before[2]
    assert (db(session, t1), db(session, t2), db(session, one)) == before
    assert_session_exact(session)


def test_rollback_of_a_thread_delete(world):
    session, _, one, _, t1, _, _ = world
    session.delete(t1)
    session.flush()
    session.rollback()
    assert db(session, one) == (2, 2)
    assert (one.thread_count, one.comment_count) == (2, 2)
    assert_session_exact(session)


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
    session, _, one, _, t1, _, _ = world
    with pytest.raises(CounterBypassError, match="bypass the counter strategy"):
        session.execute(statement)
    assert session.scalar(select(func.count()).select_from(Comment)) == 3
    assert db(session, one) == (2, 2)
    assert_session_exact(session)


def test_bulk_insert_of_comments_is_refused(world):
    session, alice, _, _, t1, _, _ = world
    from sqlalchemy import insert

    with pytest.raises(CounterBypassError):
        session.execute(
            insert(Comment), [{"thread_id": t1.id, "author_id": alice.id, "message": "x"}]
        )
    assert db(session, t1) == (3, 1)


# 8. no counter UPDATE when nothing changes ------------------------------------------------


@pytest.mark.parametrize(
    "new_message",
    ["alpha beta gamma", "alpha  beta\ngamma", "one two three"],
    ids=["same-text", "whitespace-only", "same-word-count"],
)
def test_edit_keeping_word_count_issues_no_counter_update(world, new_message):
    session, _, _, _, t1, _, _ = world
    opening = session.scalars(select(Comment).where(Comment.thread_id == t1.id)).one()
    with statements_on(session.connection()) as log:
        opening.message = new_message
        session.flush()
    assert log.counter_updates() == []
    expected_comment_updates = 0 if new_message == "alpha beta gamma" else 1
    assert len(log.matching("UPDATE comments")) == expected_comment_updates
    assert_session_exact(session)


def test_moving_to_the_same_thread_issues_no_counter_update(world):
    session, _, _, _, t1, _, _ = world
    opening = session.scalars(select(Comment).where(Comment.thread_id == t1.id)).one()
    with statements_on(session.connection()) as log:
        opening.thread = t1
        opening.thread_id = t1.id
        session.flush()
    assert log.counter_updates() == []


# 9. a thread with no comments left ---------------------------------------------------------


def test_thread_emptied_has_zero_counters(world):
    session, alice, one, _, t1, _, _ = world
    add_comment(session, t1, alice, "second")
    session.commit()
    for comment in session.scalars(select(Comment).where(Comment.thread_id == t1.id)).all():
        session.delete(comment)
    session.commit()
    assert db(session, t1) == (0, 0)
    assert (t1.word_count, t1.comment_count) == (0, 0)
    assert db(session, one) == (2, 1)
    assert_session_exact(session)
