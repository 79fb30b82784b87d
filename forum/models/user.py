"""Accounts: members write, moderators also move comments and delete threads."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Identity, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base, created_at_column

ROLES = ("member", "moderator")


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('member', 'moderator')", name="role_known"),)

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    #: Stored lower-cased, so uniqueness is case-insensitive (see forum.services.accounts).
    username: Mapped[str] = mapped_column(String(32), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16), default="member", server_default="member")
    created_at: Mapped[datetime] = created_at_column()

    @property
    def is_moderator(self) -> bool:
        return self.role == "moderator"

    def __repr__(self) -> str:
        return f"<User {self.username} ({self.role})>"
