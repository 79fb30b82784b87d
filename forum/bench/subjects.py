"""The things forum-bench measures: the three strategies, their peers, the naive recipes.

Every subject offers the same operations, each one transaction: create a
comment (one, or a batch), edit one, move one, delete one. ORM subjects do what
the JSON API does (load the thread, add the comment; load a comment FOR
UPDATE to change it); peers issue plain SQL through psycopg2. Each operation
returns the statements it sent, and the retries a lost race cost.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass

from sqlalchemy import Engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from .. import counting
from ..counters.strategy import CounterStrategy
from ..models import Comment, Thread
from ..words import word_count
from .naive import NAIVE_AFTER_INSERT, NAIVE_BEFORE_FLUSH, NAIVE_IN_MEMORY

MAX_ATTEMPTS = 20


@dataclass
class Outcome:
    statements: int = 0
    retries: int = 0
    comment_id: uuid.UUID | None = None


def retryable(error: BaseException) -> bool:
    """A transaction that lost a race (a stale comment, a deadlock, a serialization failure)."""
    if isinstance(error, StaleDataError):
        return True
    orig = error.orig if isinstance(error, DBAPIError) else error  # psycopg2's own, for peers
    return str(getattr(orig, "pgcode", "") or "").startswith("40")


@dataclass
class Subject:
    name: str
    kind: str  # "strategy", "peer" or "naive"
    summary: str
    schema: str = "public"
    small_only: bool = False  # too slow for big threads (it grows with the thread)
    keeps_counters: bool = True
    strategy: CounterStrategy | str | None = None
    #: forum.counter_apply: when the parents' UPDATEs are issued (flush or commit)
    apply: str = "flush"

    def activate(self) -> None:
        if self.strategy is not None:
            counting.use(self.strategy, self.apply)

    # Each operation is one transaction; subclasses (below) implement them.
    def create(self, engine: Engine, thread_id, author_id: int, messages: list[str]) -> Outcome:
        raise NotImplementedError

    def edit(self, engine: Engine, comment_id, message: str) -> Outcome:
        raise NotImplementedError

    def move(self, engine: Engine, comment_id, thread_id) -> Outcome:
        raise NotImplementedError

    def delete(self, engine: Engine, comment_id) -> Outcome:
        raise NotImplementedError


@dataclass
class OrmSubject(Subject):
    """A counter strategy (or a naive recipe) doing what the JSON API does."""

    def _run(self, engine: Engine, work: Callable[[Session], uuid.UUID | None]) -> Outcome:
        outcome = Outcome()

        def count(*args) -> None:
            outcome.statements += 1

        for _ in range(MAX_ATTEMPTS):
            outcome.statements = 0
            with counting.CountedSession(engine) as session:
                connection = session.connection()
                event.listen(connection, "before_cursor_execute", count)
                try:
                    outcome.comment_id = work(session)
                    session.commit()
                    return outcome
                except Exception as error:
                    session.rollback()
                    if not retryable(error):
                        raise
                    outcome.retries += 1
                finally:
                    event.remove(connection, "before_cursor_execute", count)
        raise RuntimeError(f"{self.name}: gave up after {MAX_ATTEMPTS} attempts")

    def create(self, engine, thread_id, author_id, messages):
        def work(session: Session):
            thread = session.get(Thread, thread_id)
            comments = [Comment(thread=thread, author_id=author_id, message=m) for m in messages]
            session.add_all(comments)
            session.flush()
            return comments[-1].id

        return self._run(engine, work)

    def edit(self, engine, comment_id, message):
        def work(session: Session):
            comment = session.get(Comment, comment_id, with_for_update=True)
            assert comment is not None
            comment.message = message

        return self._run(engine, work)

    def move(self, engine, comment_id, thread_id):
        def work(session: Session):
            comment = session.get(Comment, comment_id, with_for_update=True)
            thread = session.get(Thread, thread_id)
            assert comment is not None and thread is not None
            comment.thread = thread

        return self._run(engine, work)

    def delete(self, engine, comment_id):
        def work(session: Session):
            session.delete(session.get(Comment, comment_id, with_for_update=True))

        return self._run(engine, work)


class _Cursor:
    """A psycopg2 cursor that counts what it sends."""

    def __init__(self, cursor, outcome: Outcome) -> None:
        self.cursor, self.outcome = cursor, outcome

    def run(self, sql: str, params: tuple = ()):
        self.outcome.statements += 1
        self.cursor.execute(sql, params)
        return self.cursor


@dataclass
class SqlSubject(Subject):
    """A peer: plain SQL through psycopg2, no ORM, no SQLAlchemy on the hot path."""

    def _run(self, engine: Engine, work: Callable[[_Cursor], uuid.UUID | None]) -> Outcome:
        outcome = Outcome()
        for _ in range(MAX_ATTEMPTS):
            outcome.statements = 0
            raw = engine.raw_connection()
            try:
                with closing(raw.cursor()) as cursor:
                    outcome.comment_id = work(_Cursor(cursor, outcome))
                raw.commit()
                return outcome
            except Exception as error:
                raw.rollback()
                if not retryable(error):
                    raise
                outcome.retries += 1
            finally:
                raw.close()
        raise RuntimeError(f"{self.name}: gave up after {MAX_ATTEMPTS} attempts")


@dataclass
class FloorSubject(SqlSubject):
    """The raw driver floor: the forum's own tables, the fewest statements that keep counts."""

    def create(self, engine, thread_id, author_id, messages):
        def work(cur: _Cursor):
            comment_id = None
            words = 0
            for message in messages:
                comment_id = cur.run(
                    "INSERT INTO comments (thread_id, author_id, message, version) "
                    "VALUES (%s, %s, %s, 1) RETURNING id",
                    (thread_id, author_id, message),
                ).fetchone()[0]
                words += word_count(message)
            board = cur.run(
                "UPDATE threads SET word_count = word_count + %s, "
                "comment_count = comment_count + %s WHERE id = %s RETURNING board_id",
                (words, len(messages), thread_id),
            ).fetchone()[0]
            cur.run(
                "UPDATE boards SET comment_count = comment_count + %s WHERE id = %s",
                (len(messages), board),
            )
            cur.run(
                "UPDATE users SET comment_count = comment_count + %s WHERE id = %s",
                (len(messages), author_id),
            )
            return comment_id

        return self._run(engine, work)

    def edit(self, engine, comment_id, message):
        def work(cur: _Cursor):
            thread_id, old = cur.run(
                "SELECT thread_id, message FROM comments WHERE id = %s FOR UPDATE", (comment_id,)
            ).fetchone()
            cur.run(
                "UPDATE comments SET message = %s, version = version + 1, "
                "updated_at = clock_timestamp() WHERE id = %s",
                (message, comment_id),
            )
            delta = word_count(message) - word_count(old)
            if delta:
                cur.run(
                    "UPDATE threads SET word_count = word_count + %s WHERE id = %s",
                    (delta, thread_id),
                )

        return self._run(engine, work)

    def move(self, engine, comment_id, thread_id):
        def work(cur: _Cursor):
            old_thread, message = cur.run(
                "SELECT thread_id, message FROM comments WHERE id = %s FOR UPDATE", (comment_id,)
            ).fetchone()
            if str(old_thread) == str(thread_id):
                return
            cur.run(
                "UPDATE comments SET thread_id = %s, version = version + 1 WHERE id = %s",
                (thread_id, comment_id),
            )
            words = word_count(message)
            boards = {}
            for tid, sign in sorted(((str(old_thread), -1), (str(thread_id), 1))):
                boards[sign] = cur.run(
                    "UPDATE threads SET word_count = word_count + %s, "
                    "comment_count = comment_count + %s WHERE id = %s RETURNING board_id",
                    (sign * words, sign, tid),
                ).fetchone()[0]
            if boards[-1] != boards[1]:
                for board, sign in sorted([(boards[-1], -1), (boards[1], 1)]):
                    cur.run(
                        "UPDATE boards SET comment_count = comment_count + %s WHERE id = %s",
                        (sign, board),
                    )

        return self._run(engine, work)

    def delete(self, engine, comment_id):
        def work(cur: _Cursor):
            row = cur.run(
                "DELETE FROM comments WHERE id = %s RETURNING thread_id, message, author_id",
                (comment_id,),
            ).fetchone()
            if row is None:
                return
            board = cur.run(
                "UPDATE threads SET word_count = word_count - %s, "
                "comment_count = comment_count - 1 WHERE id = %s RETURNING board_id",
                (word_count(row[1]), row[0]),
            ).fetchone()[0]
            cur.run("UPDATE boards SET comment_count = comment_count - 1 WHERE id = %s", (board,))
            cur.run("UPDATE users SET comment_count = comment_count - 1 WHERE id = %s", (row[2],))

        return self._run(engine, work)


@dataclass
class SingleStatementSubject(SqlSubject):
    """A peer whose writes are one plain statement on its own schema: the trigger
    peer (its trigger then keeps the counters) and compute-on-read (no counters)."""

    def create(self, engine, thread_id, author_id, messages):
        def work(cur: _Cursor):
            comment_id = None
            for message in messages:
                comment_id = cur.run(
                    f"INSERT INTO {self.schema}.comments "
                    "(thread_id, author_id, message, version, words) "
                    "VALUES (%s, %s, %s, 1, %s) RETURNING id",
                    (thread_id, author_id, message, word_count(message)),
                ).fetchone()[0]
            return comment_id

        return self._run(engine, work)

    def _one(self, engine: Engine, sql: str, params: tuple) -> Outcome:
        def work(cur: _Cursor) -> None:
            cur.run(sql.format(schema=self.schema), params)

        return self._run(engine, work)

    def edit(self, engine, comment_id, message):
        return self._one(
            engine,
            "UPDATE {schema}.comments SET message = %s, words = %s, "
            "version = version + 1 WHERE id = %s",
            (message, word_count(message), comment_id),
        )

    def move(self, engine, comment_id, thread_id):
        return self._one(
            engine,
            "UPDATE {schema}.comments SET thread_id = %s, version = version + 1 WHERE id = %s",
            (thread_id, comment_id),
        )

    def delete(self, engine, comment_id):
        return self._one(engine, "DELETE FROM {schema}.comments WHERE id = %s", (comment_id,))


#: No listeners at all: the JSON API's ORM work with nothing kept, the yardstick for what
#: the strategies themselves cost (their time as a ratio to this one).
ORM_BARE = CounterStrategy("orm_bare", ())


def commit_subjects() -> list[Subject]:
    """The three strategies with ``forum.counter_apply = commit``: measured where it
    matters, on hot rows (the concurrency workload)."""
    return [
        OrmSubject(
            f"{name} (commit)",
            "strategy",
            f"{name}, the parents' UPDATEs kept for the commit",
            strategy=name,
            apply="commit",
        )
        for name in ("attribute", "before_flush", "after_insert")
    ]


def all_subjects() -> list[Subject]:
    return [
        OrmSubject(
            "attribute",
            "strategy",
            "attribute events, in memory at once, flushed as x = x + delta",
            strategy="attribute",
        ),
        OrmSubject(
            "before_flush",
            "strategy",
            "one reconciler per flush, one UPDATE per parent",
            strategy="before_flush",
        ),
        OrmSubject(
            "after_insert",
            "strategy",
            "a Core UPDATE per changed comment, in the flush",
            strategy="after_insert",
        ),
        OrmSubject(
            "orm_bare",
            "peer",
            "the same ORM operations as the strategies, no counters kept: what the ORM costs",
            keeps_counters=False,
            strategy=ORM_BARE,
        ),
        FloorSubject("floor", "peer", "raw psycopg2: INSERT, then UPDATE ... SET x = x + n"),
        SingleStatementSubject(
            "trigger", "peer", "a PL/pgSQL trigger keeps the counters", schema="peer_trigger"
        ),
        SingleStatementSubject(
            "compute_on_read",
            "peer",
            "no counter columns: SUM/COUNT when a page needs them",
            schema="peer_compute",
            keeps_counters=False,
        ),
        OrmSubject(
            "naive_after_insert",
            "naive",
            "the classic answer: SUM over thread.comments in after_insert",
            small_only=True,
            strategy=NAIVE_AFTER_INSERT,
        ),
        OrmSubject(
            "naive_before_flush",
            "naive",
            "the classic answer: SUM over thread.comments in before_flush",
            small_only=True,
            strategy=NAIVE_BEFORE_FLUSH,
        ),
        OrmSubject(
            "naive_in_memory",
            "naive",
            "the classic answer: += in memory, the value flushed (lost updates)",
            small_only=True,
            strategy=NAIVE_IN_MEMORY,
        ),
    ]
