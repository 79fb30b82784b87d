"""The plan's safety net: compare it with the comment rows the flush really writes.

``flush_plan`` follows the unit of work's rules to know, before the flush,
what it will write. The mapper events here see every comment row as it is
written. If a row was written differently from the plan (a unit-of-work rule
the plan does not know, in some SQLAlchemy version to come), the difference
is counted after the flush, in lock order like everything else, and a warning
names the comment: the counters stay exact either way, and the warning says
the plan needs teaching. The test suite fails on that warning.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Connection, inspect
from sqlalchemy.orm import Mapper, Session, object_session

from ..models import Comment
from .flush_plan import CommentWrite, FlushPlan, Share
from .rows_written import (
    keep_old_row_before_delete,
    keep_old_row_before_update,
    new_row,
    old_row,
)
from .strategy import Listener

log = logging.getLogger(__name__)

PLAN = "forum.flush_plan"
SURPRISES = "forum.flush_surprises"


def remember_plan(session: Session, plan: FlushPlan) -> None:
    session.info[PLAN] = plan


def _planned(comment: Comment) -> tuple[Session | None, CommentWrite | None]:
    session = object_session(comment)
    if session is None or PLAN not in session.info:
        return session, None
    return session, session.info[PLAN].comments.get(inspect(comment))


def _compare(comment: Comment, planned: CommentWrite | None, written: tuple) -> None:
    """Note a row written otherwise than planned (an unplanned write that moves nothing is fine)."""
    expected: tuple[Share | None, ...] | None = None
    if planned is not None:
        expected = tuple(s.by_id() if s is not None else None for s in (planned.old, planned.new()))
    if expected == written or (expected is None and written[0] == written[1]):
        return
    session = object_session(comment)
    if session is not None:
        surprise = (comment.id, expected or (None, None), written)
        session.info.setdefault(SURPRISES, []).append(surprise)


def _before_update(mapper: Mapper, connection: Connection, comment: Comment) -> None:
    if _planned(comment)[1] is None:
        keep_old_row_before_update(mapper, connection, comment)


def _before_delete(mapper: Mapper, connection: Connection, comment: Comment) -> None:
    if _planned(comment)[1] is None:
        keep_old_row_before_delete(mapper, connection, comment)


def _inserted(mapper: Mapper, connection: Connection, comment: Comment) -> None:
    _compare(comment, _planned(comment)[1], (None, new_row(comment)))


def _updated(mapper: Mapper, connection: Connection, comment: Comment) -> None:
    write = _planned(comment)[1]
    old = write.old if write is not None else old_row(comment)
    if old is not None:  # None: no counted column changed
        _compare(comment, write, (old, new_row(comment, unloaded_words=old.words)))


def _deleted(mapper: Mapper, connection: Connection, comment: Comment) -> None:
    write = _planned(comment)[1]
    _compare(comment, write, (write.old if write is not None else old_row(comment), None))


def _after_flush(session: Session, flush_context: Any) -> None:
    """Count what the plan missed, and say so."""
    from .flush_counts import CounterChanges  # the counting core imports this module

    surprises = session.info.pop(SURPRISES, [])
    plan = session.info.pop(PLAN, None)
    if plan is None or not surprises:
        return
    changes = CounterChanges(session, rows_only=True)  # every row exists now
    for comment_id, (p_old, p_new), (old, new) in surprises:
        log.warning(
            "the counter plan expected comment %s to be written as %s -> %s, the flush wrote "
            "%s -> %s; counted what was written",
            comment_id,
            p_old,
            p_new,
            old,
            new,
        )
        changes.count_comment(p_new, p_old)  # undo what was planned
        changes.count_comment(old, new)  # count what was written
    changes.rows.apply(session.connection(), session)


def _forget(session: Session, *args: Any) -> None:
    session.info.pop(PLAN, None)
    session.info.pop(SURPRISES, None)


FLUSH_CHECK = (
    Listener(Comment, "before_update", _before_update),
    Listener(Comment, "before_delete", _before_delete),
    Listener(Comment, "after_insert", _inserted),
    Listener(Comment, "after_update", _updated),
    Listener(Comment, "after_delete", _deleted),
    Listener(Session, "after_flush", _after_flush),
    Listener(Session, "after_soft_rollback", _forget),
)
