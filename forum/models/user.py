"""Accounts: members write, moderators also move comments and delete threads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Identity, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base, counter_checks, counter_column, created_at_column

ROLES = ("member", "moderator")
USER_COUNTERS = ("comment_count",)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('member', 'moderator')", name="role_known"),
        *counter_checks(*USER_COUNTERS),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    #: Stored lower-cased, so uniqueness is case-insensitive (see forum.services.accounts).
    username: Mapped[str] = mapped_column(String(32), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16), default="member", server_default="member")
    created_at: Mapped[datetime] = created_at_column()
    #: Every session cookie records the generation it was made in; bumping it
    #: (sign-out everywhere, a new password, disabling) ends all of them at once.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    #: A disabled account cannot sign in, and its sessions end.
    disabled_at: Mapped[datetime | None]
    #: Denormalized: the number of comments the user wrote (the fifth counter).
    comment_count: Mapped[int] = counter_column()

    def __init__(self, **kwargs: Any) -> None:
        # Counters start at 0 in memory too, so "+= 1" works before the INSERT.
        for name in USER_COUNTERS:
            kwargs.setdefault(name, 0)
        super().__init__(**kwargs)

    @property
    def is_disabled(self) -> bool:
        return self.disabled_at is not None

    @property
    def is_moderator(self) -> bool:
        return self.role == "moderator"

    def __repr__(self) -> str:
        return f"<User {self.username} ({self.role})>"
