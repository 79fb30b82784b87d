"""The fifth counter, users.comment_count, under every strategy: create, move, edit, delete,
an author changed, and a thread deleted with other people's comments in it."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from forum.models import Comment, User

from .counter_helpers import assert_session_exact, stored_user
from .factories import add_comment, make_user
from .world import World

pytestmark = pytest.mark.usefixtures("counter_strategy")


def comments_of(w: World, user: User) -> int:
    return stored_user(w.session.connection(), user.id)[0]


def test_a_users_comments_are_counted(world: World):
    w = world
    assert comments_of(w, w.alice) == 3  # the three opening posts
    bob = make_user(w.session, "bob")
    reply = add_comment(w.session, w.t1, bob, "a reply")
    add_comment(w.session, w.t3, bob, "another")
    w.session.commit()
    assert (comments_of(w, bob), comments_of(w, w.alice)) == (2, 3)
    reply.thread = w.t2  # a move keeps its author
    reply.message = "edited words here"
    w.session.commit()
    assert comments_of(w, bob) == 2
    w.session.delete(reply)
    w.session.commit()
    assert comments_of(w, bob) == 1
    assert_session_exact(w.session)


def test_a_new_user_and_their_first_comment_in_one_flush(world: World):
    w = world
    carol = User(username="carol", password_hash="x", comment_count=7)  # the strategy's
    w.session.add(Comment(thread=w.t1, author=carol, message="hello"))
    w.session.flush()
    assert comments_of(w, carol) == 1
    assert carol.comment_count == 1
    assert_session_exact(w.session)


def test_changing_a_comments_author_moves_the_count(world: World):
    w = world
    bob = make_user(w.session, "bob")
    w.session.commit()
    post = w.opening_post(w.t1)
    post.author = bob
    w.session.commit()
    assert (comments_of(w, w.alice), comments_of(w, bob)) == (2, 1)
    assert_session_exact(w.session)


@pytest.mark.parametrize("loaded", [False, True])
def test_deleting_a_thread_takes_its_comments_from_their_authors(world: World, loaded):
    """The comments go by ON DELETE CASCADE (or, when loaded, by the ORM): either way each
    author loses exactly theirs."""
    w = world
    bob = make_user(w.session, "bob")
    for n in range(3):
        add_comment(w.session, w.t1, bob, f"reply {n}")
    add_comment(w.session, w.t2, bob, "elsewhere")
    w.session.commit()
    if loaded:
        assert len(w.t1.comments) == 4
    w.session.delete(w.t1)
    w.session.commit()
    assert (comments_of(w, w.alice), comments_of(w, bob)) == (2, 1)
    assert_session_exact(w.session)


def test_a_comment_moved_out_of_a_thread_deleted_in_the_same_flush(world: World):
    w = world
    bob = make_user(w.session, "bob")
    moved = add_comment(w.session, w.t1, bob, "rescued")
    w.session.commit()
    moved.thread = w.t2
    w.session.delete(w.t1)
    w.session.commit()
    assert comments_of(w, bob) == 1
    assert w.session.scalar(select(Comment.thread_id).where(Comment.id == moved.id)) == w.t2.id
    assert_session_exact(w.session)


def test_attribute_shows_the_count_before_the_flush(
    world: World, counter_strategy: str, dbsession: Session
):
    w = world
    before = w.alice.comment_count
    w.session.add(Comment(thread=w.t2, author=w.alice, message="more"))
    if counter_strategy == "attribute":
        assert w.alice.comment_count == before + 1
    w.session.flush()
    assert w.alice.comment_count == before + 1
    assert_session_exact(w.session)
