"""Comments: the text whose words and number the counters add up."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, Integer, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..words import word_count
from .meta import Base, UUIDKey, created_at_column

if TYPE_CHECKING:
    from .thread import Thread
    from .user import User


class Comment(UUIDKey, Base):
    __tablename__ = "comments"
    __table_args__ = (
        # A thread's comments in order, for keyset pagination.
        Index("ix_comments_thread_id_created_at_id", "thread_id", "created_at", "id"),
    )

    thread_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        nullable=False, server_default=func.clock_timestamp(), onupdate=func.clock_timestamp()
    )
    #: Optimistic lock: an UPDATE or DELETE of a row another transaction changed
    #: first matches nothing and raises StaleDataError, so a counter delta is never
    #: computed from a stale copy of the comment (the request is then retried).
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    thread: Mapped[Thread] = relationship(back_populates="comments")
    author: Mapped[User] = relationship()

    __mapper_args__ = {"version_id_col": version}

    @property
    def word_count(self) -> int:
        return word_count(self.message)

    def __repr__(self) -> str:
        return f"<Comment {self.id} thread={self.thread_id} words={self.word_count}>"
