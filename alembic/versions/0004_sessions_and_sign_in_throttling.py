"""revocable sessions (users.session_generation, users.disabled_at) and sign_in_failures

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

A session cookie carries the generation it was made in; bumping a user's
generation ends every session at once. ``sign_in_failures`` is the sliding
window sign-in throttling counts (forum.services.throttle).
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column("session_generation", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.add_column("users", sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "sign_in_failures",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("client_address", sa.String(64), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sign_in_failures"),
    )
    op.create_index(
        "ix_sign_in_failures_account_failed_at", "sign_in_failures", ["account", "failed_at"]
    )
    op.create_index(
        "ix_sign_in_failures_client_address_failed_at",
        "sign_in_failures",
        ["client_address", "failed_at"],
    )
    op.create_index("ix_sign_in_failures_failed_at", "sign_in_failures", ["failed_at"])


def downgrade() -> None:
    op.drop_table("sign_in_failures")
    op.drop_column("users", "disabled_at")
    op.drop_column("users", "session_generation")
