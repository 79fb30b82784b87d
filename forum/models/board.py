"""Boards group threads; each keeps how many threads and comments it holds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Identity, String
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base, counter_checks, counter_column, created_at_column

BOARD_COUNTERS = ("thread_count", "comment_count")


class Board(Base):
    __tablename__ = "boards"
    __table_args__ = counter_checks(*BOARD_COUNTERS)

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    #: Denormalized: number of threads on the board.
    thread_count: Mapped[int] = counter_column()
    #: Denormalized: number of comments in the board's threads.
    comment_count: Mapped[int] = counter_column()
    created_at: Mapped[datetime] = created_at_column()

    def __init__(self, **kwargs: Any) -> None:
        # Counters start at 0 in memory too, so "+= 1" works before the INSERT.
        for name in BOARD_COUNTERS:
            kwargs.setdefault(name, 0)
        super().__init__(**kwargs)

    def __repr__(self) -> str:
        return f"<Board {self.slug} threads={self.thread_count} comments={self.comment_count}>"
