"""Telling SQLAlchemy's legitimate refusals apart from counter bugs, for the state machine.

A random sequence of session operations often asks for something SQLAlchemy
rightly refuses: editing a comment whose thread another step deleted, a
foreign key to a deleted thread, a savepoint already closed, a stale version.
The state machine rolls the session back and carries on after those. It must
not carry on after a counter bug, which can look much the same, so these are
never legitimate:

* a counter's ``CHECK (... >= 0)`` constraint firing (``_not_negative``);
* any exception raised inside a counter strategy's own code (``forum/counters/``),
  except StaleDataError, which the strategies raise on purpose for a comment or
  thread whose row is gone, and CounterBypassError, the project's deliberate
  refusal of an operation it documents as unsupported (raised before anything
  is written; the database is checked after the rollback all the same);
* ``ObjectDeletedError`` / ``DetachedInstanceError`` raised during a flush by a
  strategy's listener: the flush itself deleted the row the listener then tried to
  read (issue 11, class 8). Raised by SQLAlchemy's own flush code (say, copying the
  key of a thread whose row is gone into a comment), it is SQLAlchemy's refusal.
"""

from __future__ import annotations

import traceback
from pathlib import Path

from sqlalchemy.exc import IntegrityError, SAWarning, SQLAlchemyError
from sqlalchemy.orm.exc import DetachedInstanceError, ObjectDeletedError, StaleDataError

from forum.counting import CounterBypassError

EVENTS_DIR = str(Path(__file__).resolve().parent.parent / "forum" / "counters")


def _frames(error: BaseException) -> list[traceback.FrameSummary]:
    return traceback.extract_tb(error.__traceback__)


def is_counter_check_violation(error: BaseException) -> bool:
    """A counter went negative in the database: always a counter bug."""
    return isinstance(error, IntegrityError) and "_not_negative" in str(error.orig)


def raised_in_strategy(error: BaseException) -> bool:
    return any(frame.filename.startswith(EVENTS_DIR) for frame in _frames(error))


def raised_during_flush(error: BaseException) -> bool:
    return any(
        frame.name == "_flush" and frame.filename.endswith("orm/session.py")
        for frame in _frames(error)
    )


def counter_bug(error: BaseException) -> str | None:
    """Why ``error`` is a counter bug, or None when it is not one."""
    if is_counter_check_violation(error):
        return "a counter's CHECK (>= 0) constraint fired"
    if raised_in_strategy(error) and not isinstance(error, StaleDataError | CounterBypassError):
        return "raised inside a counter strategy (forum/counters)"
    if (
        isinstance(error, ObjectDeletedError | DetachedInstanceError)
        and raised_during_flush(error)
        and raised_in_strategy(error)
    ):
        return "the flush could not read a row it had just written"
    return None


def is_legitimate_refusal(error: BaseException) -> bool:
    """SQLAlchemy (or PostgreSQL through it) refused an operation the sequence asked for."""
    return isinstance(error, SQLAlchemyError | SAWarning) and counter_bug(error) is None
