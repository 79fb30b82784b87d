"""Threads: a title and its comments; the first comment is the opening post."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Computed, ForeignKey, Index, String, func
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, Unmapped, mapped_column, relationship, unmapped_column

from .meta import Base, UUIDKey, counter_checks, counter_column, created_at_column
from .searchable import RefreshSearchViewMixin

if TYPE_CHECKING:
    from .board import Board
    from .comment import Comment
    from .user import User

THREAD_COUNTERS = ("word_count", "comment_count")
THREAD_DOCUMENT = "setweight(to_tsvector('english'::regconfig, left(title, 1000)), 'A')"
TITLE_MAX_CHARS = 200


class Thread(RefreshSearchViewMixin, UUIDKey, Base):
    __tablename__ = "threads"
    __searchable__ = ("title", "board_id")
    __table_args__ = (
        *counter_checks(*THREAD_COUNTERS),
        # A board's threads, most recent activity first, for keyset pagination.
        Index("ix_threads_board_id_last_activity_at_id", "board_id", "last_activity_at", "id"),
        Index("ix_threads_search_vector", "search_vector", postgresql_using="gin"),
        Index("ix_threads_created_at", "created_at"),
        # An author's threads, newest first (the user page).
        Index("ix_threads_author_id_created_at_id", "author_id", "created_at", "id"),
    )

    #: The counter strategies need the board a change moved the thread from:
    #: active_history loads the old value before a set, whichever strategy runs.
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id"), active_history=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX_CHARS))
    created_at: Mapped[datetime] = created_at_column()
    #: When the thread was created or last got a reply; boards list threads by it.
    last_activity_at: Mapped[datetime] = mapped_column(
        nullable=False, server_default=func.clock_timestamp()
    )
    #: The title's full-text document (weight A), kept by PostgreSQL itself; in
    #: the table but not in the mapper, so the ORM never reads or returns it.
    search_vector: Unmapped[str | None] = unmapped_column(
        TSVECTOR, Computed(THREAD_DOCUMENT, persisted=True)
    )
    #: Denormalized: the sum of the word counts of the thread's comments.
    word_count: Mapped[int] = counter_column()
    #: Denormalized: the number of the thread's comments.
    comment_count: Mapped[int] = counter_column()

    board: Mapped[Board] = relationship()
    author: Mapped[User] = relationship()
    #: Never read this on a big thread: page through comments with a query instead.
    #: ``passive_deletes`` leaves unloaded comments to ON DELETE CASCADE.
    comments: Mapped[list[Comment]] = relationship(
        back_populates="thread",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="(Comment.created_at, Comment.id)",
    )

    # The board is the thread's version: every ORM UPDATE or DELETE of a thread
    # says "WHERE board_id = <the board this session loaded>", so a session whose
    # copy was moved (or deleted) by another transaction meanwhile gets
    # StaleDataError (and the request is retried) instead of counting the
    # thread's comments on the wrong board. The application sets it, on a move.
    __mapper_args__ = {"version_id_col": board_id, "version_id_generator": False}

    def __init__(self, **kwargs: Any) -> None:
        # Counters start at 0 in memory too, so "+= n" works before the INSERT.
        for name in THREAD_COUNTERS:
            kwargs.setdefault(name, 0)
        super().__init__(**kwargs)

    def __repr__(self) -> str:
        return f"<Thread {self.id} words={self.word_count} comments={self.comment_count}>"
