"""full-text search: tsvector columns, the live search_view and its materialized twin

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

Both forms exist side by side, so switching forum.search_view needs no SQL:
``search_view`` is a plain view (always fresh), ``search_view_materialized``
holds the same rows and is refreshed after commits (forum.search.refresh).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Cut well below the 1 MB tsvector limit: a title is at most 200 characters, a
# message could be configured longer than the default 20,000.
THREAD_DOCUMENT = "setweight(to_tsvector('english'::regconfig, left(title, 1000)), 'A')"
COMMENT_DOCUMENT = "setweight(to_tsvector('english'::regconfig, left(message, 50000)), 'B')"

SEARCH_ROWS = """
    SELECT 'thread'::text AS kind, t.id AS doc_id, t.id AS thread_id,
           NULL::uuid AS comment_id, t.board_id, t.created_at, t.search_vector AS document
      FROM threads t
    UNION ALL
    SELECT 'comment'::text, c.id, c.thread_id,
           c.id, t.board_id, c.created_at, c.search_vector
      FROM comments c JOIN threads t ON t.id = c.thread_id
"""


def upgrade() -> None:
    op.add_column(
        "threads",
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR(),
            sa.Computed(THREAD_DOCUMENT, persisted=True),
            nullable=True,
        ),
    )
    op.add_column(
        "comments",
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR(),
            sa.Computed(COMMENT_DOCUMENT, persisted=True),
            nullable=True,
        ),
    )
    op.create_index(
        "ix_threads_search_vector", "threads", ["search_vector"], postgresql_using="gin"
    )
    op.create_index(
        "ix_comments_search_vector", "comments", ["search_vector"], postgresql_using="gin"
    )
    # Broad queries rank only the newest matches: both branches can then be
    # read newest first from an index and stop early.
    op.create_index("ix_comments_created_at", "comments", ["created_at"])
    op.create_index("ix_threads_created_at", "threads", ["created_at"])

    op.execute(f"CREATE VIEW search_view AS {SEARCH_ROWS}")
    op.execute(f"CREATE MATERIALIZED VIEW search_view_materialized AS {SEARCH_ROWS} WITH NO DATA")
    # A unique index on plain columns is what REFRESH ... CONCURRENTLY needs.
    op.execute(
        "CREATE UNIQUE INDEX ux_search_view_materialized_doc_id "
        "ON search_view_materialized (doc_id)"
    )
    op.execute(
        "CREATE INDEX ix_search_view_materialized_document "
        "ON search_view_materialized USING gin (document)"
    )
    op.execute(
        "CREATE INDEX ix_search_view_materialized_created_at "
        "ON search_view_materialized (created_at)"
    )

    op.create_table(
        "search_refresh_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("generation", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "refreshed_generation", sa.BigInteger(), server_default=sa.text("-1"), nullable=False
        ),
        sa.Column("refreshes", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_duration_ms", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint("id = 1", name=op.f("ck_search_refresh_state_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_refresh_state")),
    )
    op.execute("INSERT INTO search_refresh_state (id) VALUES (1)")


def downgrade() -> None:
    op.drop_table("search_refresh_state")
    op.execute("DROP MATERIALIZED VIEW search_view_materialized")
    op.execute("DROP VIEW search_view")
    op.drop_index("ix_threads_created_at", table_name="threads")
    op.drop_index("ix_comments_created_at", table_name="comments")
    op.drop_index("ix_comments_search_vector", table_name="comments")
    op.drop_index("ix_threads_search_vector", table_name="threads")
    op.drop_column("comments", "search_vector")
    op.drop_column("threads", "search_vector")
