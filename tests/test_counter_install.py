"""A strategy is installed on one session factory, never on SQLAlchemy's global Session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, event
from sqlalchemy.orm import Session, sessionmaker

from forum import counting
from forum.models import Comment, Thread
from forum.reconcile import reconcile

from .counter_helpers import assert_no_drift, stored_thread
from .factories import make_board, make_thread, make_user


@pytest.fixture
def factories(connection: Connection) -> Iterator[tuple[sessionmaker, sessionmaker]]:
    """Two factories on the test's connection, ``attribute`` on one and ``after_insert`` on
    the other."""
    made = []
    for name in ("attribute", "after_insert"):
        factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
        counting.install(factory, name)
        made.append(factory)
    yield tuple(made)
    for factory in made:
        counting.active(factory).uninstall(factory)


@pytest.fixture
def thread_id(dbsession: Session):
    alice = make_user(dbsession)
    thread = make_thread(dbsession, make_board(dbsession), alice, "one two three")
    dbsession.commit()
    return thread.id


def test_two_factories_keep_their_own_strategies(factories, thread_id, connection):
    with_attribute, with_after_insert = factories
    assert counting.active(with_attribute).name == "attribute"
    assert counting.active(with_after_insert).name == "after_insert"

    with with_attribute() as session:
        thread = session.get(Thread, thread_id)
        session.add(Comment(thread=thread, author_id=thread.author_id, message="four five"))
        assert thread.word_count == 5  # attribute: fresh before any flush
        session.commit()
    assert stored_thread(connection, thread_id) == (5, 2)

    with with_after_insert() as session:
        thread = session.get(Thread, thread_id)
        session.add(Comment(thread=thread, author_id=thread.author_id, message="six"))
        assert thread.word_count == 5  # after_insert: right after the flush, not before
        session.flush()
        assert thread.word_count == 6
        session.commit()
    assert stored_thread(connection, thread_id) == (6, 3)
    assert_no_drift(connection)


def test_a_session_of_another_class_counts_nothing(factories, thread_id, connection):
    with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
        thread = session.get(Thread, thread_id)
        session.add(Comment(thread=thread, author_id=thread.author_id, message="four five"))
        session.commit()
    drift = [(d.column, d.stored, d.true) for d in reconcile(connection).drift]
    assert ("word_count", 3, 5) in drift
    reconcile(connection, fix=True)
    assert_no_drift(connection)


def test_uninstalling_removes_every_listener(connection):
    factory = sessionmaker(bind=connection)
    strategy = counting.install(factory, "before_flush")
    on_session = [listener for listener in strategy.listeners if listener.on_session]
    assert all(event.contains(factory.class_, x.identifier, x.fn) for x in on_session)
    assert not any(event.contains(Session, x.identifier, x.fn) for x in on_session)
    strategy.uninstall(factory)
    assert counting.active(factory) is None
    assert not any(event.contains(factory.class_, x.identifier, x.fn) for x in on_session)
    assert strategy.installed_on == set()  # no other class uses it: the guards went too
    assert not any(
        event.contains(listener.target, listener.identifier, guard)
        for listener, guard in strategy._guards.items()
    )


def test_installing_on_a_factory_gives_it_the_guarded_session_class(connection):
    factory = sessionmaker(bind=connection)
    strategy = counting.install(factory, "after_insert")
    try:
        assert issubclass(factory.class_, counting.GuardedSession)
        with factory() as session, pytest.raises(counting.CounterBypassError):
            session.bulk_insert_mappings(Comment, [{"message": "x"}])
    finally:
        strategy.uninstall(factory)
