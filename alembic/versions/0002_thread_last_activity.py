"""threads.last_activity_at: boards list their threads by most recent activity

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "threads",
        sa.Column(
            "last_activity_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
    )
    # Existing threads: their newest comment, or their creation if they have none.
    op.execute(
        """
        UPDATE threads SET last_activity_at = coalesce(
            (SELECT max(created_at) FROM comments WHERE comments.thread_id = threads.id),
            threads.created_at)
        """
    )
    op.drop_index("ix_threads_board_id_created_at_id", table_name="threads")
    op.create_index(
        "ix_threads_board_id_last_activity_at_id",
        "threads",
        ["board_id", "last_activity_at", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_threads_board_id_last_activity_at_id", table_name="threads")
    op.create_index(
        "ix_threads_board_id_created_at_id", "threads", ["board_id", "created_at", "id"]
    )
    op.drop_column("threads", "last_activity_at")
