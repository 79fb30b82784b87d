"""The two forms of the search view, as Core tables (created by migration 0003).

Both have the same columns: one row per thread (its title, weight A) and per
comment (its message, weight B). ``search_view`` is a plain view over the
tables' generated ``search_vector`` columns, always fresh; ``search_view_materialized``
holds the same rows as of its last refresh. They live in their own MetaData so
alembic's comparison never mistakes them for tables.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Integer, MetaData, Table, Text, Uuid
from sqlalchemy.dialects.postgresql import TSVECTOR

views = MetaData()


def _search_relation(name: str) -> Table:
    return Table(
        name,
        views,
        Column("kind", Text),  # "thread" or "comment"
        Column("doc_id", Uuid, primary_key=True),
        Column("thread_id", Uuid),
        Column("comment_id", Uuid),  # NULL for a thread
        Column("board_id", Integer),
        Column("created_at", DateTime(timezone=True)),
        Column("document", TSVECTOR),
    )


search_view = _search_relation("search_view")
search_view_materialized = _search_relation("search_view_materialized")

FORMS: dict[str, Table] = {"live": search_view, "materialized": search_view_materialized}
MATERIALIZED_VIEW = "search_view_materialized"
