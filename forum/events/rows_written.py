"""What a comment row write really changed, read in the mapper's flush events.

``before_update`` and ``before_delete`` run while the row still holds its old
thread and message; they keep that old share (loading the message first if
this copy never had it, e.g. after ``load_only`` or a partial expire), so
``after_update`` and ``after_delete`` know exactly what left which thread.
The ``after_insert`` strategy counts from these; ``flush_check`` compares the
other two strategies' plans with them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, inspect
from sqlalchemy.orm import Mapper, object_session
from sqlalchemy.orm.state import InstanceState

from ..models import Comment
from ..orm_history import changed, committed_value
from ..words import word_count
from .flush_plan import Share

OLD_ROWS = "forum.comment_old_rows"


def _old_rows(comment: Comment) -> dict[InstanceState, Share]:
    session = object_session(comment)
    return session.info.setdefault(OLD_ROWS, {}) if session is not None else {}


def counted_change(comment: Comment) -> bool:
    """Does this UPDATE change the comment's thread, words or author?"""
    return any(changed(comment, key) for key in ("thread_id", "message", "author_id"))


def _keep(comment: Comment) -> None:
    _old_rows(comment)[inspect(comment)] = Share(
        committed_value(comment, "thread_id"),
        word_count(committed_value(comment, "message")),
        committed_value(comment, "author_id"),
    )


def keep_old_row_before_update(mapper: Mapper, connection: Connection, comment: Comment) -> None:
    """The row is about to move or change words: remember what it holds now."""
    if counted_change(comment):
        _keep(comment)


def keep_old_row_before_delete(mapper: Mapper, connection: Connection, comment: Comment) -> None:
    _keep(comment)


def old_row(comment: Comment) -> Share | None:
    """The share kept by ``keep_old_row`` for this write (and forgotten)."""
    return _old_rows(comment).pop(inspect(comment), None)


def new_row(comment: Comment, unloaded_words: int | None = None) -> Share:
    """The share the row holds after the INSERT or UPDATE just written.

    ``unloaded_words``: the words to assume when this copy does not hold the
    message (it did not change, and the caller already knows its words).
    """
    if "message" not in comment.__dict__ and unloaded_words is not None:
        return Share(comment.thread_id, unloaded_words, comment.author_id)
    return Share(comment.thread_id, word_count(comment.message), comment.author_id)


def forget(session: Any, *args: Any) -> None:
    session.info.pop(OLD_ROWS, None)
