"""The naive recipes of the classic answer, kept only to be measured against.

The answer: https://stackoverflow.com/questions/13693872 ("Can SQLAlchemy
events be used to update a denormalized data cache?").

Each does what the classic answer shows, on thread counters only (the answer
has no board counters):

* ``naive_after_insert``: in ``after_insert``, UPDATE the thread with
  ``sum(c.word_count for c in thread.comments)``: loads the whole collection on
  every write, so it grows with the thread.
* ``naive_before_flush``: in ``before_flush``, set ``thread.word_count`` to the
  same sum: the same growth, and a stale sum under concurrency.
* ``naive_in_memory``: attribute events doing ``thread.word_count += delta`` in
  memory and flushing the absolute value: constant work, but two writers to one
  thread overwrite each other's increments.

Never install these in the app: forum-bench runs them on its scratch database.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, update
from sqlalchemy.orm import Mapper, Session, UOWTransaction

from ..counters.strategy import CounterStrategy, Listener
from ..models import Comment, Thread
from ..words import word_count


def _sum_words(thread: Thread) -> tuple[int, int]:
    comments = thread.comments  # loads every comment of the thread
    return sum(word_count(c.message) for c in comments), len(comments)


def _after_insert(mapper: Mapper, connection: Connection, target: Comment) -> None:
    thread = target.thread
    words, count = _sum_words(thread)
    connection.execute(
        update(Thread.__table__)
        .where(Thread.__table__.c.id == thread.id)
        .values(word_count=words, comment_count=count)
    )


def _before_flush(session: Session, flush_context: UOWTransaction, instances: Any) -> None:
    for obj in session.new | session.dirty:
        if isinstance(obj, Comment) and obj.thread is not None:
            obj.thread.word_count, obj.thread.comment_count = _sum_words(obj.thread)


def _message_set(target: Comment, value: Any, oldvalue: Any, initiator: Any) -> None:
    if target.thread is not None:
        old = oldvalue if isinstance(oldvalue, str) else None
        target.thread.word_count += word_count(value) - word_count(old)


def _thread_set(target: Comment, value: Any, oldvalue: Any, initiator: Any) -> None:
    if value is not None:
        value.word_count += word_count(target.message)
        value.comment_count += 1
    if isinstance(oldvalue, Thread):
        oldvalue.word_count -= word_count(target.message)
        oldvalue.comment_count -= 1


NAIVE_AFTER_INSERT = CounterStrategy(
    "naive_after_insert", (Listener(Comment, "after_insert", _after_insert),)
)
NAIVE_BEFORE_FLUSH = CounterStrategy(
    "naive_before_flush", (Listener(Session, "before_flush", _before_flush),)
)
NAIVE_IN_MEMORY = CounterStrategy(
    "naive_in_memory",
    (
        Listener(Comment.message, "set", _message_set),
        Listener(Comment.thread, "set", _thread_set),
    ),
)
