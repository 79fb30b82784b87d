"""users.comment_count: the fifth counter, the comments each user wrote

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column("comment_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    # Existing users: the truth, counted once here; the strategies keep it from now on.
    op.execute(
        """
        UPDATE users SET comment_count = counted.n
        FROM (SELECT author_id, count(*) AS n FROM comments GROUP BY author_id) AS counted
        WHERE users.id = counted.author_id
        """
    )
    op.create_check_constraint(
        op.f("ck_users_comment_count_not_negative"), "users", "comment_count >= 0"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_users_comment_count_not_negative"), "users", type_="check")
    op.drop_column("users", "comment_count")
