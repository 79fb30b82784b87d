"""Plain rows a cached list holds instead of ORM objects: what the list pages show.

Measured (``forum-bench --only cache``): merging a cached page of fifty ORM
objects and their authors into a session (``merge_frozen_result``) costs more
than reading them from PostgreSQL again. So the two lists, a board's first
page of threads and a thread's first page of comments, are cached as these
frozen rows: unpickled in microseconds, attached to no session, read-only.
They carry the attribute names the templates and the API's JSON read, so the
views take either. Single objects (a board, a thread's header, the board
list) stay ORM objects answered by ``forum.cache.orm``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from ..models import Comment, Thread, User
from ..models.comment import EDITED_AFTER
from ..words import word_count


@dataclass(frozen=True, slots=True)
class AuthorRow:
    id: int
    username: str

    @classmethod
    def of(cls, user: User) -> AuthorRow:
        return cls(user.id, user.username)


@dataclass(frozen=True, slots=True)
class ThreadRow:
    id: uuid.UUID
    board_id: int
    author_id: int
    title: str
    created_at: datetime
    last_activity_at: datetime
    word_count: int
    comment_count: int
    author: AuthorRow

    @classmethod
    def of(cls, thread: Thread) -> ThreadRow:
        return cls(
            thread.id,
            thread.board_id,
            thread.author_id,
            thread.title,
            thread.created_at,
            thread.last_activity_at,
            thread.word_count,
            thread.comment_count,
            AuthorRow.of(thread.author),
        )


@dataclass(frozen=True, slots=True)
class CommentRow:
    id: uuid.UUID
    thread_id: uuid.UUID
    author_id: int
    message: str
    created_at: datetime
    updated_at: datetime
    author: AuthorRow

    @property
    def word_count(self) -> int:
        return word_count(self.message)

    @property
    def edited(self) -> bool:
        """As ``Comment.edited``."""
        return self.updated_at - self.created_at > EDITED_AFTER

    @classmethod
    def of(cls, comment: Comment) -> CommentRow:
        return cls(
            comment.id,
            comment.thread_id,
            comment.author_id,
            comment.message,
            comment.created_at,
            comment.updated_at,
            AuthorRow.of(comment.author),
        )


@dataclass(frozen=True, slots=True)
class BoardRef:
    slug: str
    title: str


@dataclass(frozen=True, slots=True)
class LatestRow:
    """A thread in the board index's "Latest activity" list."""

    id: uuid.UUID
    title: str
    comment_count: int
    last_activity_at: datetime
    board: BoardRef

    @classmethod
    def of(cls, thread: Thread) -> LatestRow:
        board = BoardRef(thread.board.slug, thread.board.title)
        return cls(thread.id, thread.title, thread.comment_count, thread.last_activity_at, board)
