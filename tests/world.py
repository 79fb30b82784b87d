"""A small forum for the counter scenarios: the ``world`` fixture's data."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from forum.models import Board, Comment, Thread, User

from .counter_helpers import stored_board, stored_thread
from .factories import make_board, make_thread, make_user


@dataclass
class World:
    """Two boards; board ``one`` holds threads t1 and t2, board ``two`` holds t3.

    Each thread has an opening post of three words.
    """

    session: Session
    alice: User
    one: Board
    two: Board
    t1: Thread
    t2: Thread
    t3: Thread

    def db(self, obj: Thread | Board) -> tuple[int, int]:
        """The counters the database holds for ``obj``."""
        if isinstance(obj, Thread):
            return stored_thread(self.session.connection(), obj.id)
        return stored_board(self.session.connection(), obj.id)

    def opening_post(self, thread: Thread) -> Comment:
        return self.session.scalars(select(Comment).where(Comment.thread_id == thread.id)).one()


def make_world(session: Session) -> World:
    """Alice, boards ``one`` (t1, t2) and ``two`` (t3), committed."""
    alice = make_user(session, "alice")
    one, two = make_board(session, "one"), make_board(session, "two")
    t1 = make_thread(session, one, alice, "alpha beta gamma", title="t1")
    t2 = make_thread(session, one, alice, "delta epsilon zeta", title="t2")
    t3 = make_thread(session, two, alice, "eta theta iota", title="t3")
    session.commit()
    return World(session, alice, one, two, t1, t2, t3)
