"""The materialized search view's refresh bookkeeping: one row.

``generation`` is bumped by every transaction that changes searchable text,
inside that transaction; a refresh records the generation it started from in
``refreshed_generation``. The view is fresh when the two are equal, so no
request for a refresh can be lost, even if the process that asked dies.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Integer, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base


class SearchRefreshState(Base):
    __tablename__ = "search_refresh_state"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    generation: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    refreshed_generation: Mapped[int] = mapped_column(BigInteger, server_default=text("-1"))
    refreshes: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    last_started_at: Mapped[datetime | None]
    last_finished_at: Mapped[datetime | None]
    last_duration_ms: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
