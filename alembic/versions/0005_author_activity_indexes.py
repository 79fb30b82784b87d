"""a user's threads and comments, newest first, for the keyset-paged user page

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

``/u/{name}`` lists one author's comments (and threads) by (created_at, id),
newest first; these indexes make each page one short range scan, whatever
the author has written.
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_comments_author_id_created_at_id", "comments", ["author_id", "created_at", "id"]
    )
    op.create_index(
        "ix_threads_author_id_created_at_id", "threads", ["author_id", "created_at", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_threads_author_id_created_at_id", table_name="threads")
    op.drop_index("ix_comments_author_id_created_at_id", table_name="comments")
