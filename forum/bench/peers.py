"""What forum-bench measures the strategies against: schemas that copy the forum's tables.

* ``peer_trigger``: the same tables with a PL/pgSQL trigger keeping the same
  counters. The word count of each comment is computed in Python with
  ``word_count`` (stored in a ``words`` column) and passed in, so that the
  project still has one definition of a word.
* ``peer_compute``: no counter columns at all; a page sums and counts when it
  needs the numbers (``words`` stored per comment, as above).
* ``peer_plain``: comments without the generated search column and its GIN
  index, to price the live search view's cost per write.

The raw driver floor writes the forum's own tables with plain psycopg2.
"""

from __future__ import annotations

from sqlalchemy import Connection

from ..database import psycopg2_connection

SCHEMAS = ("peer_trigger", "peer_compute", "peer_plain")

TRIGGER = """
CREATE FUNCTION peer_trigger.keep_counters() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    board integer;
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE peer_trigger.threads
           SET word_count = word_count - OLD.words, comment_count = comment_count - 1
         WHERE id = OLD.thread_id RETURNING board_id INTO board;
        UPDATE peer_trigger.boards SET comment_count = comment_count - 1 WHERE id = board;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE peer_trigger.threads
           SET word_count = word_count + NEW.words, comment_count = comment_count + 1
         WHERE id = NEW.thread_id RETURNING board_id INTO board;
        UPDATE peer_trigger.boards SET comment_count = comment_count + 1 WHERE id = board;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER keep_counters AFTER INSERT OR DELETE OR UPDATE OF thread_id, words
    ON peer_trigger.comments FOR EACH ROW EXECUTE FUNCTION peer_trigger.keep_counters();
"""


def create_peer_schemas(connection: Connection) -> None:
    """Copy the forum's tables (columns, defaults, indexes) into the peer schemas."""
    for schema in SCHEMAS:
        connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
        for table in ("boards", "threads", "comments"):
            connection.exec_driver_sql(
                f"CREATE TABLE {schema}.{table} (LIKE public.{table} INCLUDING ALL)"
            )
        connection.exec_driver_sql(
            f"ALTER TABLE {schema}.threads ADD FOREIGN KEY (board_id) "
            f"REFERENCES {schema}.boards (id)"
        )
        connection.exec_driver_sql(
            f"ALTER TABLE {schema}.comments ADD FOREIGN KEY (thread_id) "
            f"REFERENCES {schema}.threads (id) ON DELETE CASCADE"
        )
    for schema in ("peer_trigger", "peer_compute"):
        connection.exec_driver_sql(
            f"ALTER TABLE {schema}.comments ADD COLUMN words integer NOT NULL DEFAULT 0"
        )
    connection.exec_driver_sql(
        "ALTER TABLE peer_compute.threads DROP COLUMN word_count, DROP COLUMN comment_count"
    )
    connection.exec_driver_sql(
        "ALTER TABLE peer_compute.boards DROP COLUMN thread_count, DROP COLUMN comment_count"
    )
    connection.exec_driver_sql("ALTER TABLE peer_plain.comments DROP COLUMN search_vector")
    connection.exec_driver_sql(TRIGGER)


def copy_thread_to_peers(connection: Connection, thread_id, words_of: dict) -> None:
    """Give every peer schema the same thread (and board), with the same comments.

    ``words_of`` maps comment id to its word count (from ``word_count``).
    """
    connection.exec_driver_sql(
        "CREATE TEMPORARY TABLE IF NOT EXISTS peer_words (id uuid PRIMARY KEY, words integer)"
    )
    connection.exec_driver_sql("TRUNCATE peer_words")
    if words_of:
        with psycopg2_connection(connection).cursor() as cursor:
            from psycopg2.extras import execute_values

            execute_values(
                cursor,
                "INSERT INTO peer_words (id, words) VALUES %s",
                [(str(k), v) for k, v in words_of.items()],
                page_size=10000,
            )
    for schema in SCHEMAS:
        board_columns = "id, slug, title, created_at"
        thread_columns = "id, board_id, author_id, title, created_at, last_activity_at"
        if schema != "peer_compute":
            board_columns += ", thread_count, comment_count"
            thread_columns += ", word_count, comment_count"
        connection.exec_driver_sql(
            f"INSERT INTO {schema}.boards ({board_columns}) SELECT {board_columns} "
            "FROM public.boards b WHERE b.id = (SELECT board_id FROM public.threads "
            "WHERE id = %(t)s) ON CONFLICT DO NOTHING",
            {"t": thread_id},
        )
        connection.exec_driver_sql(
            f"INSERT INTO {schema}.threads ({thread_columns}) SELECT {thread_columns} "
            "FROM public.threads WHERE id = %(t)s",
            {"t": thread_id},
        )
        comment_columns = "id, thread_id, author_id, message, created_at, updated_at, version"
        if schema == "peer_plain":
            connection.exec_driver_sql(
                f"INSERT INTO {schema}.comments ({comment_columns}) SELECT {comment_columns} "
                "FROM public.comments WHERE thread_id = %(t)s",
                {"t": thread_id},
            )
            continue
        if schema == "peer_trigger":  # counters copied already: keep the trigger out of it
            connection.exec_driver_sql("ALTER TABLE peer_trigger.comments DISABLE TRIGGER USER")
        connection.exec_driver_sql(
            f"INSERT INTO {schema}.comments ({comment_columns}, words) "
            f"SELECT {', '.join('c.' + c.strip() for c in comment_columns.split(','))}, w.words "
            "FROM public.comments c JOIN peer_words w ON w.id = c.id WHERE c.thread_id = %(t)s",
            {"t": thread_id},
        )
        if schema == "peer_trigger":
            connection.exec_driver_sql("ALTER TABLE peer_trigger.comments ENABLE TRIGGER USER")
