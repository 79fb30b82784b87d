"""search_view read newest first from an index (one table per branch); search_estimate()

Revision ID: 0007_search
Revises: 0006
Create Date: 2026-12-02

The live view's comment branch joined ``threads`` for ``board_id``. A branch of
a UNION ALL that joins is planned as a subquery on its own, with no ordered
path, so "the newest matches first" over the view was a sort of every match
(767 ms for a word in half of 1,000,000 comments). With one table per branch,
PostgreSQL pulls both branches up and can read ``ix_threads_created_at`` and
``ix_comments_created_at`` backwards under a Merge Append and stop at the
limit. The comment's board becomes a scalar subquery, evaluated only when a
query reads ``board_id``. The materialized view keeps its definition (a join
is the fast way to fill it).

``search_estimate(relation, query, board)`` is the planner's estimate of a
query's matches (EXPLAIN, planning only), callable inside a SELECT: the search
asks for it in the same statement as its emptiness check and its timeout.
"""

from __future__ import annotations

from alembic import op

revision = "0004_search"
down_revision = "0006"
branch_labels = None
depends_on = None

NEWEST_FIRST = """
    SELECT 'thread'::text AS kind, t.id AS doc_id, t.id AS thread_id,
           NULL::uuid AS comment_id, t.board_id, t.created_at, t.search_vector AS document
      FROM threads t
    UNION ALL
    SELECT 'comment'::text, c.id, c.thread_id,
           c.id, (SELECT t.board_id FROM threads t WHERE t.id = c.thread_id),
           c.created_at, c.search_vector
      FROM comments c
"""

JOINED = """
    SELECT 'thread'::text AS kind, t.id AS doc_id, t.id AS thread_id,
           NULL::uuid AS comment_id, t.board_id, t.created_at, t.search_vector AS document
      FROM threads t
    UNION ALL
    SELECT 'comment'::text, c.id, c.thread_id,
           c.id, t.board_id, c.created_at, c.search_vector
      FROM comments c JOIN threads t ON t.id = c.thread_id
"""


# The query text is quoted with %L and the relation is a regclass: nothing a
# client sends reaches the EXPLAIN as SQL.
SEARCH_ESTIMATE = """
CREATE FUNCTION search_estimate(relation regclass, query text, board integer DEFAULT NULL)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    plan json;
BEGIN
    EXECUTE format(
        'EXPLAIN (FORMAT JSON) SELECT 1 FROM %s '
        'WHERE document @@ websearch_to_tsquery(''english''::regconfig, %L)%s',
        relation,
        query,
        CASE WHEN board IS NULL THEN '' ELSE format(
            ' AND thread_id IN (SELECT id FROM threads WHERE board_id = %s)', board
        ) END
    ) INTO plan;
    RETURN (plan -> 0 -> 'Plan' ->> 'Plan Rows')::bigint;
END
$$
"""


def upgrade() -> None:
    op.execute(f"CREATE OR REPLACE VIEW search_view AS {NEWEST_FIRST}")
    op.execute(SEARCH_ESTIMATE)


def downgrade() -> None:
    op.execute("DROP FUNCTION search_estimate(regclass, text, integer)")
    op.execute(f"CREATE OR REPLACE VIEW search_view AS {JOINED}")
