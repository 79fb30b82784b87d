"""Small builders for test data, through the ORM so the active strategy counts it."""

from __future__ import annotations

from functools import cache

from sqlalchemy.orm import Session

from forum.models import Board, Comment, Thread, User
from forum.passwords import PasswordHasher

TEST_PASSWORD = "correct horse battery staple"


@cache
def test_password_hash() -> str:
    # Cheap argon2 parameters: the suite hashes often; production uses the defaults.
    return PasswordHasher(time_cost=1, memory_cost=64).hash(TEST_PASSWORD)


def make_user(session: Session, username: str = "alice", role: str = "member") -> User:
    user = User(username=username, password_hash=test_password_hash(), role=role)
    session.add(user)
    session.flush()
    return user


def make_board(session: Session, slug: str = "general", title: str | None = None) -> Board:
    board = Board(slug=slug, title=title or slug.title())
    session.add(board)
    session.flush()
    return board


def make_thread(
    session: Session,
    board: Board,
    author: User,
    message: str = "opening post words",
    title: str = "A thread",
) -> Thread:
    """A thread with its opening post, flushed."""
    thread = Thread(board=board, author=author, title=title)
    session.add(thread)
    session.add(Comment(thread=thread, author=author, message=message))
    session.flush()
    return thread


def add_comment(session: Session, thread: Thread, author: User, message: str) -> Comment:
    comment = Comment(thread=thread, author=author, message=message)
    session.add(comment)
    session.flush()
    return comment
