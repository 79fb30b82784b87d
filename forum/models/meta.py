"""The declarative base: one metadata with a constraint naming convention.

Stable constraint names let alembic migrations refer to (and drop) them by name.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import CheckConstraint, DateTime, Integer, MetaData, Table, func, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    # Every model maps one Table: say so, so Core statements on it type-check.
    __table__: ClassVar[Table]

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTime(timezone=True)}


class UUIDKey:
    """A UUID primary key that exists from the moment the object is constructed.

    Having the id before the INSERT lets the counter strategies name a parent
    row by id even while it is still pending in the session. Rows written
    without the ORM (COPY, Core) get one from the database.
    """

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True,
        default=uuid.uuid4,
        server_default=func.gen_random_uuid(),  # for bulk loads that bypass the ORM
        sort_order=-1,
    )

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("id", uuid.uuid4())
        super().__init__(**kwargs)


def counter_column() -> Mapped[int]:
    """A denormalized counter: NOT NULL DEFAULT 0 (its CHECK >= 0 is in ``counter_checks``).

    ``active_history``: assigning one loads the old value first, so a change made
    outside the counter strategy can be recognised and undone
    (``forum.counters.ownership``). The strategies themselves never assign it.
    """
    return mapped_column(
        Integer, nullable=False, default=0, server_default=text("0"), active_history=True
    )


def counter_checks(*names: str) -> tuple[CheckConstraint, ...]:
    """``CHECK (name >= 0)`` for each counter column, named ``<name>_not_negative``."""
    return tuple(CheckConstraint(f"{name} >= 0", name=f"{name}_not_negative") for name in names)


def created_at_column() -> Mapped[datetime]:
    """Creation time set by the database.

    ``clock_timestamp()``, not ``now()`` (the transaction's start): several
    threads or comments written in one transaction keep the order they were
    written in, which keyset pagination relies on.
    """
    return mapped_column(nullable=False, server_default=func.clock_timestamp())
