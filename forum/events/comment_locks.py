"""Lock the comments a flush will change, and refuse stale copies, before any counter moves.

The ``attribute`` and ``before_flush`` strategies write the parents' counters
before the flush writes the comment rows. If a comment was edited or deleted
by another transaction after this session loaded it, the delta computed from
the stale copy must never reach a counter: the version check on the comment's
own UPDATE/DELETE comes too late (a decrement may already have hit the
counter's CHECK >= 0). So the comment rows are locked first, in id order, and
their versions compared; a mismatch raises StaleDataError, which the request
retry runs again from fresh rows.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from ..models import Comment
from .history import changed, committed_value

comments = Comment.__table__

#: The attributes whose change moves a counter.
COUNTED_ATTRIBUTES = ("message", "thread", "thread_id")


def comments_changing_counters(session: Session) -> list[Comment]:
    """Persistent comments this flush will update (in a counted attribute) or delete."""
    found = [obj for obj in session.deleted if isinstance(obj, Comment)]
    found += [
        obj
        for obj in session.dirty
        if isinstance(obj, Comment) and any(changed(obj, key) for key in COUNTED_ATTRIBUTES)
    ]
    return found


def lock_current(session: Session, targets: Iterable[Comment]) -> None:
    """``SELECT ... FOR UPDATE`` the rows in id order; raise if any is not as loaded."""
    expected = {c.id: committed_value(c, "version") for c in targets}
    if not expected:
        return
    current = dict(
        session.connection()
        .execute(
            select(comments.c.id, comments.c.version)
            .where(comments.c.id.in_(sorted(expected)))
            .order_by(comments.c.id)
            .with_for_update()
        )
        .all()
    )
    for comment_id, version in expected.items():
        if current.get(comment_id) != version:
            raise StaleDataError(
                f"comment {comment_id} was changed or deleted by another transaction "
                "after this session loaded it"
            )
