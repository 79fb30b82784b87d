"""A stateful search for counter drift (issue 11): random ORM sessions, every strategy.

Hypothesis drives one session through random sequences of every operation
issue 11 names: comments created by relationship, by key and by appending to
``thread.comments``; threads created with their board by relationship or key;
edits; moves of comments and threads by relationship and by key; deletes,
delete-orphan and thread deletes; flush, commit, rollback; nested savepoints
released or rolled back; full and partial expire and refresh, ``expire_all``;
expunge and re-add (changed while detached or not); ``close()`` and reuse;
``merge()`` of a detached copy; queries under ``no_autoflush``. Drawn one rule
at a time, two operations seldom meet the same object, so three rules also
apply a short list of them to one comment, to one thread, or inside two
nested savepoints, the way one request would.

Checked: the database after every flush, commit, savepoint release or
rollback and at teardown (``forum.reconcile`` finds no drift); the session's
loaded counters after each of those (every strategy promises them after a
flush); and for ``attribute`` alone, the counters it showed *before* a flush
equal what the flush wrote (``attribute`` promises fresh counters at once),
unless a partial expire, refresh, expunge, close or merge since the last flush
voided that promise.

SQLAlchemy's own refusals (``tests/orm_refusals.py``) roll the session back
and the sequence goes on; a counter's CHECK constraint, an error raised inside
a strategy, or a flush that cannot read its own rows fail the test.

``make test`` runs a fixed, derandomized search (50 sequences of up to 30
steps per strategy, seconds when nothing fails; a failure is shrunk to its
shortest sequence first, which can take a minute). For a longer random search
(sequences of up to 50 steps, every distinct failure reported), set the number
of sequences in ``FORUM_STATE_MACHINE_EXAMPLES``::

    FORUM_STATE_MACHINE_EXAMPLES=2000 make test PYTEST_ARGS="tests/test_counter_state_machine.py"
"""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from hypothesis import HealthCheck, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine, inspect, select
from sqlalchemy.exc import SAWarning, SQLAlchemyError
from sqlalchemy.orm import SessionTransaction

from forum.counting import CountedSession
from forum.models import Board, Comment, Thread

from .drift_checks import (
    Shown,
    counters_shown,
    db_drift,
    memory_errors,
    shown_but_not_written,
)
from .factories import make_board, make_thread, make_user
from .orm_refusals import counter_bug, is_legitimate_refusal, raised_in_strategy

WORDS = ["", "a", "a b", "a b c d", "one two three four five six", "  spaced   out  "]
MAX_SAVEPOINTS = 3
#: What ``one_comment_several_changes`` may do to one comment before a flush.
COMMENT_OPS = [
    "edit",
    "move",
    "move_by_key",
    "to_own_thread",
    "delete",
    "orphan",
    "expire",
    "expire:message",
    "expire:thread_id",
    "expire:thread",
    "refresh:message",
    "refresh:thread_id",
    "expunge_and_add",
]
#: What ``one_thread_several_changes`` may do to one thread before a flush.
THREAD_OPS = [
    "move",
    "move_by_key",
    "new_board",
    "comment",
    "delete_a_comment",
    "delete",
    "expire",
    "refresh",
    "expire_all",
]


def state_machine_settings() -> settings:
    """Fixed and quick by default; FORUM_STATE_MACHINE_EXAMPLES asks for a longer random run."""
    examples = os.environ.get("FORUM_STATE_MACHINE_EXAMPLES")
    common: dict[str, Any] = {
        "deadline": None,
        "database": None,
        "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much],
    }
    if examples:
        return settings(
            max_examples=int(examples),
            stateful_step_count=50,
            derandomize=False,
            print_blob=True,
            **common,
        )
    # One failure, shrunk, is enough to fail `make test` quickly; the long run reports each.
    return settings(
        max_examples=50,
        stateful_step_count=30,
        derandomize=True,
        report_multiple_bugs=False,
        **common,
    )


F = TypeVar("F", bound=Callable[..., None])


def session_step(method: F) -> F:
    """Run a rule; after a legitimate SQLAlchemy refusal, roll back and go on.

    SAWarnings are errors in this suite (pyproject's filterwarnings); here they
    are SQLAlchemy refusing something (a delete of a row already gone) and are
    treated like its exceptions. Counter bugs are re-raised with the reason.
    """

    @functools.wraps(method)
    def step(self: CounterMachine, *args: Any, **kwargs: Any) -> None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", SAWarning)
                method(self, *args, **kwargs)
        except AssertionError:
            self.failed = True
            raise
        except Exception as error:
            reason = counter_bug(error)
            if reason is not None:
                self.failed = True
                raise AssertionError(f"counter bug ({reason}): {error!r}") from error
            if not is_legitimate_refusal(error):
                raise
            note(f"  refused by SQLAlchemy: {type(error).__name__}; session rolled back")
            self.reset_after_error()

    return step  # type: ignore[return-value]


class CounterMachine(RuleBasedStateMachine):
    """One session over a small forum; subclassed per strategy by ``machine_for``."""

    engine: ClassVar[Engine]
    strategy: ClassVar[str]

    def __init__(self) -> None:
        super().__init__()
        self.connection = self.engine.connect()
        self.outer = self.connection.begin()
        self.session = CountedSession(
            bind=self.connection, join_transaction_mode="create_savepoint"
        )
        self.savepoints: list[SessionTransaction] = []
        self.known: list[Any] = []  # every Comment/Thread/Board seen, in order
        self.labels: dict[int, str] = {}
        self.detached: list[Any] = []
        self.memory_promise_void = False  # a partial expire etc. since the last flush
        self.serial = 0
        self.failed = False  # a check failed: teardown only cleans up
        s = self.session
        user = make_user(s, "alice")
        self.user_id = user.id
        boards = [make_board(s, f"b{i}") for i in range(3)]
        for i, (board, message) in enumerate(zip(boards, ["a b c", "d e", "f"], strict=True)):
            make_thread(s, board, user, message, title=f"t{i}")
        make_thread(s, boards[0], user, "g h i j", title="t3")
        s.commit()
        self.load_everything()

    # --- bookkeeping ---------------------------------------------------------------

    def remember(self, obj: Any) -> Any:
        if id(obj) not in self.labels:
            prefix = {Comment: "c", Thread: "t", Board: "b"}[type(obj)]
            self.labels[id(obj)] = f"{prefix}{len(self.known)}"
            self.known.append(obj)
        return obj

    def label(self, obj: Any) -> str:
        return self.labels.get(id(obj), repr(obj))

    def load_everything(self) -> None:
        """Every row, oldest first: a fixed order, so an index picks the same object again
        when hypothesis replays or shrinks a sequence (rows' physical order moves)."""
        for model in (Board, Thread, Comment):
            query = select(model).order_by(model.created_at, model.id)
            for obj in self.session.scalars(query).all():
                self.remember(obj)

    def existing_ids(self, model: type) -> set[Any]:
        """Row ids in the database now (through the connection: nothing is flushed)."""
        table = model.__table__
        return set(self.session.connection().execute(select(table.c.id)).scalars())

    def candidates(self, model: type) -> list[Any]:
        """Objects of ``model`` the session holds that can still be used: pending, or
        persistent, not deleted, with a row in the database."""
        rows = self.existing_ids(model)
        found = []
        for obj in self.known:
            if type(obj) is not model:
                continue
            state = inspect(obj)
            if state.session_id != self.session.hash_key or state.deleted:
                continue
            if obj in self.session.deleted:
                continue
            if state.key is not None and state.key[1][0] not in rows:
                continue
            found.append(obj)
        return found

    def pick(self, model: type, index: int) -> Any | None:
        found = self.candidates(model)
        return found[index % len(found)] if found else None

    @staticmethod
    def key(obj: Any) -> Any:
        """The primary key without loading anything."""
        state = inspect(obj)
        return state.key[1][0] if state.key is not None else state.dict.get("id")

    def void_if_new_board(self, thread: Thread, board: Board) -> None:
        """attribute shows nothing on a new board a persistent thread joins until the flush
        writes the exact count into its INSERT (documented in forum/counters/attribute.py)."""
        if inspect(board).key is None and inspect(thread).key is not None:
            self.memory_promise_void = True

    def reset_after_error(self) -> None:
        try:
            self.session.rollback()
        except (SQLAlchemyError, SAWarning, AssertionError) as error:
            if raised_in_strategy(error):
                self.failed = True
                raise AssertionError(f"counter bug in the rollback: {error!r}") from error
            # SQLAlchemy's own rollback can fail after its own refusal: a comment inserted
            # and deleted in one transaction, deleted again by its thread's cascade, leaves
            # a state it cannot restore (plain SQLAlchemy, no strategy, does the same:
            # tests/test_counter_drift.py, class 5). That session is beyond use: close it
            # and go on with the session used again, as close_and_reuse does.
            note(f"  the rollback failed too ({type(error).__name__}); session closed")
            self.session.close()
            self.detached.clear()
            self.load_everything()
        self.savepoints.clear()
        self.memory_promise_void = False
        self.check_database("after the rollback of a refused step")

    # --- checks ----------------------------------------------------------------------

    def check_database(self, when: str) -> None:
        drift = db_drift(self.session.connection())
        self.failed |= bool(drift)
        assert drift == [], f"{self.strategy}: database drift {when}:\n" + "\n".join(drift)

    def check_memory(self, when: str) -> None:
        errors = memory_errors(self.session)
        self.failed |= bool(errors)
        assert errors == [], f"{self.strategy}: in-memory counters wrong {when}:\n" + "\n".join(
            errors
        )

    def check_shown_before_flush(self, shown: Shown) -> None:
        """attribute: what it showed before the flush is what the flush wrote."""
        wrong = shown_but_not_written(self.session, shown, lambda obj: f"{self.label(obj)} {obj!r}")
        self.failed |= bool(wrong)
        assert wrong == [], "attribute: in-memory counters before the flush wrong:\n" + "\n".join(
            wrong
        )

    def after_write(self, when: str) -> None:
        self.check_database(when)
        self.check_memory(when)
        self.memory_promise_void = False

    # --- creating ----------------------------------------------------------------------

    @rule(t=st.integers(0, 99), words=st.sampled_from(WORDS))
    @session_step
    def add_comment_by_relationship(self, t: int, words: str) -> None:
        thread = self.pick(Thread, t)
        if thread is not None:
            c = self.remember(Comment(thread=thread, author_id=self.user_id, message=words))
            note(f"{self.label(c)} = Comment(thread={self.label(thread)}, message={words!r})")
            self.session.add(c)

    @rule(t=st.integers(0, 99), words=st.sampled_from(WORDS))
    @session_step
    def add_comment_by_key(self, t: int, words: str) -> None:
        thread = self.pick(Thread, t)
        if thread is not None:
            c = Comment(thread_id=self.key(thread), author_id=self.user_id, message=words)
            self.remember(c)
            note(f"{self.label(c)} = Comment(thread_id={self.label(thread)}.id, message={words!r})")
            self.session.add(c)

    @rule(t=st.integers(0, 99), words=st.sampled_from(WORDS))
    @session_step
    def append_comment(self, t: int, words: str) -> None:
        thread = self.pick(Thread, t)
        if thread is not None:
            c = self.remember(Comment(author_id=self.user_id, message=words))
            note(f"{self.label(thread)}.comments.append({self.label(c)}, message={words!r})")
            thread.comments.append(c)

    @rule(b=st.integers(0, 99), words=st.sampled_from(WORDS), by_key=st.booleans())
    @session_step
    def add_thread(self, b: int, words: str, by_key: bool) -> None:
        board = self.pick(Board, b)
        if board is None:
            return
        if by_key and self.key(board) is None:
            return  # a board not inserted yet has no id to name
        self.serial += 1
        if by_key:
            thread = Thread(board_id=self.key(board), author_id=self.user_id, title="new")
        else:
            thread = Thread(board=board, author_id=self.user_id, title="new")
        self.remember(thread)
        post = self.remember(Comment(thread=thread, author_id=self.user_id, message=words))
        how = "board_id" if by_key else "board"
        note(
            f"{self.label(thread)} = Thread({how}={self.label(board)}) with "
            f"{self.label(post)}(message={words!r})"
        )
        self.session.add_all([thread, post])

    @rule()
    @session_step
    def add_board(self) -> None:
        self.serial += 1
        board = self.remember(Board(slug=f"new{self.serial}", title="New"))
        note(f"{self.label(board)} = Board()")
        self.session.add(board)

    # --- changing ---------------------------------------------------------------------

    @rule(c=st.integers(0, 99), words=st.sampled_from(WORDS))
    @session_step
    def edit(self, c: int, words: str) -> None:
        comment = self.pick(Comment, c)
        if comment is not None:
            note(f"{self.label(comment)}.message = {words!r}")
            comment.message = words

    @rule(c=st.integers(0, 99), t=st.integers(0, 99), by_key=st.booleans())
    @session_step
    def move_comment(self, c: int, t: int, by_key: bool) -> None:
        comment, thread = self.pick(Comment, c), self.pick(Thread, t)
        if comment is None or thread is None:
            return
        if by_key:
            note(f"{self.label(comment)}.thread_id = {self.label(thread)}.id")
            comment.thread_id = self.key(thread)
        else:
            note(f"{self.label(comment)}.thread = {self.label(thread)}")
            comment.thread = thread

    @rule(t=st.integers(0, 99), b=st.integers(0, 99), by_key=st.booleans())
    @session_step
    def move_thread(self, t: int, b: int, by_key: bool) -> None:
        thread, board = self.pick(Thread, t), self.pick(Board, b)
        if thread is None or board is None:
            return
        if by_key and self.key(board) is None:
            return  # a board not inserted yet has no id to name
        if by_key:
            note(f"{self.label(thread)}.board_id = {self.label(board)}.id")
            thread.board_id = self.key(board)
        else:
            note(f"{self.label(thread)}.board = {self.label(board)}")
            self.void_if_new_board(thread, board)
            thread.board = board

    # --- deleting ---------------------------------------------------------------------

    @rule(c=st.integers(0, 99))
    @session_step
    def delete_comment(self, c: int) -> None:
        comment = self.pick(Comment, c)
        if comment is not None and inspect(comment).key is not None:
            note(f"session.delete({self.label(comment)})")
            self.memory_promise_void = True  # attribute counts deletes at the flush
            self.session.delete(comment)

    @rule(c=st.integers(0, 99))
    @session_step
    def delete_orphan(self, c: int) -> None:
        comment = self.pick(Comment, c)
        if comment is None:
            return
        thread = comment.thread
        if thread is not None and comment in thread.comments:
            note(f"{self.label(thread)}.comments.remove({self.label(comment)})")
            thread.comments.remove(comment)

    @rule(t=st.integers(0, 99))
    @session_step
    def delete_thread(self, t: int) -> None:
        thread = self.pick(Thread, t)
        if thread is not None and inspect(thread).key is not None:
            note(f"session.delete({self.label(thread)})")
            self.memory_promise_void = True  # attribute counts deletes at the flush
            self.session.delete(thread)

    # --- several operations on one object before a flush ---------------------------------
    # Drawn one rule at a time, two operations rarely meet the same comment or thread;
    # these rules apply a short list of them to one object, as one request would.

    def comment_op(self, comment: Comment, op: str, thread: Thread | None, words: str) -> None:
        name = self.label(comment)
        if op == "edit":
            note(f"{name}.message = {words!r}")
            comment.message = words
        elif op in ("move", "move_by_key") and thread is not None:
            if op == "move":
                note(f"{name}.thread = {self.label(thread)}")
                comment.thread = thread
            else:
                note(f"{name}.thread_id = {self.label(thread)}.id")
                comment.thread_id = self.key(thread)
        elif op == "to_own_thread":
            note(f"{name}.thread = {name}.thread")
            comment.thread = comment.thread
        elif op == "delete" and inspect(comment).key is not None:
            note(f"session.delete({name})")
            self.memory_promise_void = True
            self.session.delete(comment)
        elif op == "orphan":
            owner = comment.thread
            if owner is not None and comment in owner.comments:
                note(f"{self.label(owner)}.comments.remove({name})")
                owner.comments.remove(comment)
        elif op.startswith(("expire", "refresh")):
            verb, _, attr = op.partition(":")
            attrs = [attr] if attr else None
            note(f"session.{verb}({name}, {attrs})")
            self.memory_promise_void = True
            getattr(self.session, verb)(comment, attrs)
        elif op == "expunge_and_add":
            note(f"session.expunge({name}); session.add({name})")
            self.memory_promise_void = True
            self.session.expunge(comment)
            self.session.add(comment)

    @rule(
        c=st.integers(0, 99),
        ops=st.lists(st.sampled_from(COMMENT_OPS), min_size=2, max_size=3),
        t=st.integers(0, 99),
        words=st.sampled_from(WORDS),
        then_flush=st.booleans(),
    )
    @session_step
    def one_comment_several_changes(
        self, c: int, ops: list[str], t: int, words: str, then_flush: bool
    ) -> None:
        comment = self.pick(Comment, c)
        if comment is None:
            return
        for i, op in enumerate(ops):
            self.comment_op(comment, op, self.pick(Thread, t + i), words)
        if then_flush:
            self.do_flush()

    @rule(
        t=st.integers(0, 99),
        ops=st.lists(st.sampled_from(THREAD_OPS), min_size=2, max_size=3),
        b=st.integers(0, 99),
        then_flush=st.booleans(),
    )
    @session_step
    def one_thread_several_changes(self, t: int, ops: list[str], b: int, then_flush: bool) -> None:
        thread = self.pick(Thread, t)
        if thread is None:
            return
        name = self.label(thread)
        for i, op in enumerate(ops):
            board = self.pick(Board, b + i)
            if op == "move" and board is not None:
                note(f"{name}.board = {self.label(board)}")
                self.void_if_new_board(thread, board)
                thread.board = board
            elif op == "move_by_key" and board is not None and self.key(board) is not None:
                note(f"{name}.board_id = {self.label(board)}.id")
                thread.board_id = self.key(board)
            elif op == "new_board":
                self.serial += 1
                new = self.remember(Board(slug=f"new{self.serial}", title="New"))
                note(f"{self.label(new)} = Board(); {name}.board = {self.label(new)}")
                self.session.add(new)
                self.void_if_new_board(thread, new)
                thread.board = new
            elif op == "comment":
                c = self.remember(Comment(thread=thread, author_id=self.user_id, message="x y"))
                note(f"{self.label(c)} = Comment(thread={name}, message='x y')")
                self.session.add(c)
            elif op == "delete_a_comment":
                comments = [c for c in self.candidates(Comment) if c.thread is thread]
                if comments and inspect(comments[0]).key is not None:
                    note(f"session.delete({self.label(comments[0])})  # of {name}")
                    self.memory_promise_void = True
                    self.session.delete(comments[0])
            elif op == "delete" and inspect(thread).key is not None:
                note(f"session.delete({name})")
                self.memory_promise_void = True
                self.session.delete(thread)
            elif op in ("expire", "refresh", "expire_all"):
                note(f"session.{op}({'' if op == 'expire_all' else name})")
                self.memory_promise_void = True
                if op == "expire_all":
                    self.session.expire_all()
                else:
                    getattr(self.session, op)(thread)
        if then_flush:
            self.do_flush()

    @precondition(lambda self: len(self.savepoints) < MAX_SAVEPOINTS - 1)
    @rule(
        c=st.integers(0, 99),
        op=st.sampled_from(COMMENT_OPS),
        t=st.integers(0, 99),
        inner=st.sampled_from(["commit", "rollback"]),
        outer=st.sampled_from(["commit", "rollback"]),
    )
    @session_step
    def nested_savepoints(self, c: int, op: str, t: int, inner: str, outer: str) -> None:
        """Two savepoints, a change in the inner one, each released or rolled back."""
        self.do_begin_nested()
        self.do_begin_nested()
        comment = self.pick(Comment, c)
        if comment is not None:
            self.comment_op(comment, op, self.pick(Thread, t), "one two three four five six")
        self.end_savepoint(inner)
        self.end_savepoint(outer)

    # --- flush, commit, rollback, savepoints -------------------------------------------------

    @rule()
    @session_step
    def flush(self) -> None:
        self.do_flush()

    def do_flush(self) -> None:
        note("session.flush()")
        check_shown = self.strategy == "attribute" and not self.memory_promise_void
        shown = counters_shown(self.session) if check_shown else {}
        self.session.flush()
        self.check_database("after flush")
        if check_shown:
            self.check_shown_before_flush(shown)
        self.after_write("after flush")

    @rule()
    @session_step
    def commit(self) -> None:
        note("session.commit()")
        self.session.commit()
        self.savepoints.clear()
        self.after_write("after commit")

    @rule()
    @session_step
    def rollback(self) -> None:
        note("session.rollback()")
        self.session.rollback()
        self.savepoints.clear()
        self.after_write("after rollback")

    @precondition(lambda self: len(self.savepoints) < MAX_SAVEPOINTS)
    @rule()
    @session_step
    def begin_nested(self) -> None:
        self.do_begin_nested()

    def do_begin_nested(self) -> None:
        note(f"savepoint {len(self.savepoints)} = session.begin_nested()")
        self.savepoints.append(self.session.begin_nested())
        self.after_write("after begin_nested (it flushes)")

    def end_savepoint(self, verb: str) -> None:
        savepoint = self.savepoints.pop()
        note(f"savepoint {len(self.savepoints)}.{verb}()")
        if savepoint.is_active:
            getattr(savepoint, verb)()
            self.after_write(f"after savepoint {verb}")

    @precondition(lambda self: bool(self.savepoints))
    @rule()
    @session_step
    def release_savepoint(self) -> None:
        self.end_savepoint("commit")

    @precondition(lambda self: bool(self.savepoints))
    @rule()
    @session_step
    def rollback_savepoint(self) -> None:
        self.end_savepoint("rollback")

    # --- expire, refresh, expunge, close, merge, no_autoflush ----------------------------

    @rule(
        c=st.integers(0, 99),
        attrs=st.sampled_from(
            [None, ["message"], ["thread_id"], ["thread"], ["message", "thread"]]
        ),
        refresh=st.booleans(),
    )
    @session_step
    def expire_or_refresh_comment(self, c: int, attrs: list[str] | None, refresh: bool) -> None:
        comment = self.pick(Comment, c)
        if comment is None:
            return
        verb = "refresh" if refresh else "expire"
        note(f"session.{verb}({self.label(comment)}, {attrs})")
        self.memory_promise_void |= attrs is not None
        getattr(self.session, verb)(comment, attrs)

    @rule(
        t=st.integers(0, 99),
        attrs=st.sampled_from([None, ["board_id"], ["board"], ["word_count", "comment_count"]]),
        refresh=st.booleans(),
    )
    @session_step
    def expire_or_refresh_thread(self, t: int, attrs: list[str] | None, refresh: bool) -> None:
        thread = self.pick(Thread, t)
        if thread is None:
            return
        verb = "refresh" if refresh else "expire"
        note(f"session.{verb}({self.label(thread)}, {attrs})")
        self.memory_promise_void = True
        getattr(self.session, verb)(thread, attrs)

    @rule()
    @session_step
    def expire_all(self) -> None:
        note("session.expire_all()")
        self.memory_promise_void = True
        self.session.expire_all()

    @rule(i=st.integers(0, 99))
    @session_step
    def expunge(self, i: int) -> None:
        """Comments only: a re-added thread would bring back counters it held when it left
        (``merge`` is the way back for a stale thread, and is tested below)."""
        obj = self.pick(Comment, i)
        if obj is not None:
            note(f"session.expunge({self.label(obj)})")
            self.memory_promise_void = True
            self.session.expunge(obj)
            self.detached.append(obj)

    @precondition(lambda self: bool(self.detached))
    @rule(
        i=st.integers(0, 99), t=st.integers(0, 99), change=st.sampled_from([None, "edit", "move"])
    )
    @session_step
    def re_add(self, i: int, t: int, change: str | None) -> None:
        """A detached object, changed while detached or not, added back."""
        obj = self.detached.pop(i % len(self.detached))
        if isinstance(obj, Comment) and change == "edit":
            note(f"{self.label(obj)}.message = 'x y z' (detached)")
            obj.message = "x y z"
        elif isinstance(obj, Comment) and change == "move":
            thread = self.pick(Thread, t)
            if thread is not None:
                note(f"{self.label(obj)}.thread_id = {self.label(thread)}.id (detached)")
                obj.thread_id = self.key(thread)
        self.memory_promise_void = True
        note(f"session.add({self.label(obj)})")
        self.session.add(obj)

    @precondition(lambda self: bool(self.detached))
    @rule(i=st.integers(0, 99))
    @session_step
    def merge(self, i: int) -> None:
        obj = self.detached.pop(i % len(self.detached))
        note(f"session.merge({self.label(obj)})")
        self.memory_promise_void = True
        self.remember(self.session.merge(obj))

    @rule()
    @session_step
    def close_and_reuse(self) -> None:
        note("session.close(); the session is used again")
        self.session.close()
        self.savepoints.clear()
        self.memory_promise_void = False
        # Detached now: a few to merge (or re-add) later, as a cache's copies would be.
        self.detached.extend(obj for obj in self.known[-4:] if isinstance(obj, Comment))
        self.load_everything()

    @rule()
    @session_step
    def query_no_autoflush(self) -> None:
        note("with session.no_autoflush: load every comment, thread and board")
        with self.session.no_autoflush:
            self.load_everything()

    @rule()
    @session_step
    def query(self) -> None:
        note("load every comment, thread and board (autoflush)")
        self.load_everything()

    # --- the end of a sequence -------------------------------------------------------------

    def teardown(self) -> None:
        try:
            if self.failed:
                return  # the failing step's own message is the one to read
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("error", SAWarning)
                    self.session.commit()
            except AssertionError:
                raise
            except Exception as error:
                reason = counter_bug(error)
                if reason is not None:
                    raise AssertionError(f"counter bug at the final commit ({reason})") from error
                if not is_legitimate_refusal(error):
                    raise
                self.session.rollback()
            self.check_database("at teardown")
        finally:
            self.session.close()
            if self.outer.is_active:
                self.outer.rollback()
            self.connection.close()


def machine_for(engine: Engine, strategy: str) -> type[CounterMachine]:
    """The state machine class for one strategy, on the test run's database."""
    return type(
        f"CounterMachine_{strategy}",
        (CounterMachine,),
        {"engine": engine, "strategy": strategy},
    )


def test_counter_state_machine(engine: Engine, counter_strategy: str) -> None:
    run_state_machine_as_test(
        machine_for(engine, counter_strategy), settings=state_machine_settings()
    )
