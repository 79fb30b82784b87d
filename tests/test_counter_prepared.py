"""The counters' statements are prepared once per connection (forum/counters/prepared.py).

Strategy-independent: every strategy writes its parents through the same
``parent_writer``, and the scenario tests run each one over prepared statements.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from forum.counters import prepared
from forum.models import Comment

from .counter_helpers import statements_on
from .world import World

INCREMENT = (
    "UPDATE boards SET comment_count = comment_count + %(d)s WHERE id = %(id)s "
    "RETURNING comment_count"
)


def reply(session: Session, world: World) -> None:
    session.add(Comment(thread=world.t1, author=world.alice, message="one two"))
    session.flush()


def test_the_first_write_prepares_in_the_same_message_and_later_ones_only_execute(
    world: World,
):
    connection = world.session.connection()
    connection.connection.info.pop(prepared.NAMES, None)  # as a new connection
    with statements_on(connection, as_sent=True) as first:
        reply(world.session, world)
    with statements_on(connection, as_sent=True) as second:
        reply(world.session, world)
    counter_writes = [m for m in first if "PREPARE" in m or m.startswith("EXECUTE")]
    assert len(counter_writes) == 1 and counter_writes[0].startswith("PREPARE counters_")
    assert "; EXECUTE counters_" in counter_writes[0]
    (again,) = [m for m in second if m.startswith("EXECUTE")]
    assert again.startswith(f"EXECUTE {counter_writes[0].split()[1]}(")
    writes = [[m for m in messages if not m.startswith("SELECT")] for messages in (first, second)]
    assert len(writes[0]) == len(writes[1]) == 2  # the INSERT and the counters: no extra
    assert world.db(world.t1) == (world.t1.word_count, world.t1.comment_count)


def test_logs_and_tests_read_the_prepared_statement_as_its_sql(connection: Connection):
    board = connection.execute(
        text("INSERT INTO boards (slug, title) VALUES ('p', 'P') RETURNING id")
    ).scalar_one()
    with statements_on(connection, as_sent=True) as messages:
        prepared.execute(connection, INCREMENT, {"d": 1, "id": board}).one()
        prepared.execute(connection, INCREMENT, {"d": 1, "id": board}).one()
    assert [prepared.original(connection, m) for m in messages] == [INCREMENT, INCREMENT]
    assert prepared.original(connection, "SELECT 1") == "SELECT 1"


def test_a_failed_execute_keeps_the_statement_prepared(connection: Connection):
    """A CHECK refusing the write (SQLSTATE 23514) comes from the EXECUTE: the PREPARE
    before it ran and survives the rollback; the next use only executes."""
    connection.connection.info.pop(prepared.NAMES, None)
    board = connection.execute(
        text("INSERT INTO boards (slug, title) VALUES ('p', 'P') RETURNING id")
    ).scalar_one()
    savepoint = connection.begin_nested()
    with pytest.raises(DBAPIError, match="ck_boards_comment_count_not_negative"):
        prepared.execute(connection, INCREMENT, {"d": -1, "id": board})
    savepoint.rollback()
    with statements_on(connection, as_sent=True) as messages:
        row = prepared.execute(connection, INCREMENT, {"d": 2, "id": board}).one()
    assert row.comment_count == 2
    assert messages[0].startswith("EXECUTE counters_")


def test_after_an_aborted_transaction_the_next_use_prepares_under_a_new_name(
    connection: Connection,
):
    """When the PREPARE itself may not have run (the transaction was already aborted,
    SQLSTATE 25P02), the connection forgets its names rather than trust them."""
    board = connection.execute(
        text("INSERT INTO boards (slug, title) VALUES ('p', 'P') RETURNING id")
    ).scalar_one()
    prepared.execute(connection, INCREMENT, {"d": 1, "id": board}).one()
    before = dict(connection.connection.info[prepared.NAMES])
    savepoint = connection.begin_nested()
    with pytest.raises(DBAPIError):
        connection.execute(text("SELECT 1 / 0"))
    with pytest.raises(DBAPIError, match="current transaction is aborted"):
        prepared.execute(connection, INCREMENT, {"d": 1, "id": board})
    savepoint.rollback()
    assert connection.connection.info[prepared.NAMES] == {}
    with statements_on(connection, as_sent=True) as messages:
        assert prepared.execute(connection, INCREMENT, {"d": 1, "id": board}).scalar_one() == 2
    assert messages[0].startswith("PREPARE counters_")
    assert connection.connection.info[prepared.NAMES][INCREMENT] != before[INCREMENT]


def test_preparing_can_be_turned_off_per_engine_or_connection(connection: Connection):
    """Behind PgBouncer in transaction mode a connection's prepared statements are not
    its own: ``execution_options(counters_prepare=False)`` sends plain SQL."""
    board = connection.execute(
        text("INSERT INTO boards (slug, title) VALUES ('p', 'P') RETURNING id")
    ).scalar_one()
    plain = connection.execution_options(counters_prepare=False)  # this connection only
    with statements_on(plain, as_sent=True) as messages:
        assert prepared.execute(plain, INCREMENT, {"d": 1, "id": board}).scalar_one() == 1
    assert messages == [INCREMENT]
