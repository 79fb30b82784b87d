"""Comments: the text whose words and number the counters add up."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Computed, ForeignKey, Index, Integer, Text, func
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, Unmapped, mapped_column, relationship, unmapped_column

from ..words import word_count
from .meta import Base, UUIDKey, created_at_column
from .searchable import RefreshSearchViewMixin

if TYPE_CHECKING:
    from .thread import Thread
    from .user import User

#: How far apart an INSERT's two clock_timestamp() values can be (see Comment.edited).
EDITED_AFTER = timedelta(milliseconds=100)

COMMENT_DOCUMENT = "setweight(to_tsvector('english'::regconfig, left(message, 50000)), 'B')"


class Comment(RefreshSearchViewMixin, UUIDKey, Base):
    __tablename__ = "comments"
    __searchable__ = ("message", "thread_id")
    __table_args__ = (
        # A thread's comments in order, for keyset pagination.
        Index("ix_comments_thread_id_created_at_id", "thread_id", "created_at", "id"),
        Index("ix_comments_search_vector", "search_vector", postgresql_using="gin"),
        Index("ix_comments_created_at", "created_at"),
        # An author's comments, newest first (the user page).
        Index("ix_comments_author_id_created_at_id", "author_id", "created_at", "id"),
    )

    # active_history: the counter strategies need the old thread and message
    # of a change, even when the comment was expired (after a commit).
    thread_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("threads.id", ondelete="CASCADE"), active_history=True
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True, active_history=True)
    message: Mapped[str] = mapped_column(Text, active_history=True)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        nullable=False, server_default=func.clock_timestamp(), onupdate=func.clock_timestamp()
    )
    #: Optimistic lock: an UPDATE or DELETE of a row another transaction changed
    #: first matches nothing and raises StaleDataError, so a counter delta is never
    #: computed from a stale copy of the comment (the request is then retried).
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    #: The message's full-text document (weight B), kept by PostgreSQL itself;
    #: in the table but not in the mapper, so the ORM never reads or returns it.
    search_vector: Unmapped[str | None] = unmapped_column(
        TSVECTOR, Computed(COMMENT_DOCUMENT, persisted=True)
    )

    thread: Mapped[Thread] = relationship(back_populates="comments")
    author: Mapped[User] = relationship()

    __mapper_args__ = {"version_id_col": version}

    @property
    def word_count(self) -> int:
        return word_count(self.message)

    @property
    def edited(self) -> bool:
        """Changed after it was posted: ``updated_at`` moved on from ``created_at``.

        Both come from ``clock_timestamp()`` in the INSERT, evaluated a few
        microseconds apart, so only a gap longer than that counts.
        """
        if self.updated_at is None or self.created_at is None:
            return False
        return self.updated_at - self.created_at > EDITED_AFTER

    def __repr__(self) -> str:
        return f"<Comment {self.id} thread={self.thread_id} words={self.word_count}>"
