"""Writing to the forum: threads and comments, with the rules every client shares.

The counters are not touched here: the active counter strategy keeps them
exact whatever these functions (or any other ORM code) do.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import Board, Comment, Thread, User
from ..models.thread import TITLE_MAX_CHARS
from .errors import NotFound
from .text import check_text


def create_thread(
    session: Session, board: Board, author: User, title: object, message: object, max_chars: int
) -> Thread:
    """A new thread whose opening post (its first comment) is ``message``."""
    title = check_text("title", title, max_chars=TITLE_MAX_CHARS, single_line=True).strip()
    message = check_text("message", message, max_chars=max_chars)
    thread = Thread(board=board, author=author, title=title)
    session.add(Comment(thread=thread, author=author, message=message))
    session.flush()
    return thread


def add_comment(
    session: Session, thread: Thread, author: User, message: object, max_chars: int
) -> Comment:
    message = check_text("message", message, max_chars=max_chars)
    comment = Comment(thread=thread, author=author, message=message)
    session.add(comment)
    thread.last_activity_at = func.clock_timestamp()  # a reply moves the thread up its board
    try:
        session.flush()
    except IntegrityError:  # the thread was deleted by another request meanwhile
        raise NotFound("the thread no longer exists") from None
    return comment


def edit_comment(session: Session, comment: Comment, message: object, max_chars: int) -> None:
    comment.message = check_text("message", message, max_chars=max_chars)
    session.flush()


def move_comment(session: Session, comment: Comment, thread: Thread) -> None:
    comment.thread = thread
    session.flush()


def delete_comment(session: Session, comment: Comment) -> None:
    session.delete(comment)
    session.flush()


def delete_thread(session: Session, thread: Thread) -> None:
    session.delete(thread)
    session.flush()
