"""Failed sign-ins, kept for the throttling window (``forum.services.throttle``).

One row per failure, naming the account tried (lower-cased, whether it exists
or not) and the client address. A sliding window over these rows is what
throttling counts; rows older than the window are deleted as new ones arrive.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Identity, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base

ACCOUNT_CHARS = 64
ADDRESS_CHARS = 64


class SignInFailure(Base):
    __tablename__ = "sign_in_failures"
    __table_args__ = (
        Index("ix_sign_in_failures_account_failed_at", "account", "failed_at"),
        Index("ix_sign_in_failures_client_address_failed_at", "client_address", "failed_at"),
        Index("ix_sign_in_failures_failed_at", "failed_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    account: Mapped[str] = mapped_column(String(ACCOUNT_CHARS))
    client_address: Mapped[str] = mapped_column(String(ADDRESS_CHARS))
    failed_at: Mapped[datetime]
