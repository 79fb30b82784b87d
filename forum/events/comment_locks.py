"""Lock the comment rows a flush will change, refuse stale copies, and read what they hold.

The ``attribute`` and ``before_flush`` strategies write the parents' counters
before the flush writes the comments. So, first, the comment rows the flush
will update or delete are locked (``SELECT ... FOR UPDATE``, in id order) and
their versions compared with the ones this session loaded: a comment another
transaction changed or deleted since raises StaleDataError, and the request
is retried from fresh rows, before any counter moves.

The same statement returns each row's thread and, where the session does not
hold the committed message (expired, ``load_only``, ``refresh`` of other
columns), the message: the old side of every change is what the row holds,
never a guess from a partially loaded object.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import PASSIVE_NO_INITIALIZE, get_history
from sqlalchemy.orm.exc import StaleDataError

from ..models import Comment
from ..orm_history import committed_value
from ..words import word_count
from .flush_plan import CommentWrite, Share

comments = Comment.__table__

_UNKNOWN = object()


def _loaded_committed_message(comment: Comment) -> object:
    """The message as last loaded or flushed, or _UNKNOWN when the session does not hold it."""
    history = get_history(comment, "message", passive=PASSIVE_NO_INITIALIZE)
    if history.deleted:
        return history.deleted[0]
    if history.unchanged:
        return history.unchanged[0]
    return _UNKNOWN


def lock_and_read(session: Session, writes: Iterable[CommentWrite]) -> None:
    """Lock the rows of the UPDATEs and DELETEs in ``writes`` and fill in their ``old`` share."""
    targets = {w.comment.id: w for w in writes if w.old is None and inspect(w.comment).key}
    if not targets:
        return
    messages = {cid: _loaded_committed_message(w.comment) for cid, w in targets.items()}
    columns = [comments.c.id, comments.c.version, comments.c.thread_id]
    if any(m is _UNKNOWN for m in messages.values()):
        columns.append(comments.c.message)
    rows = {
        row.id: row
        for row in session.connection().execute(
            select(*columns)
            .where(comments.c.id.in_(sorted(targets)))
            .order_by(comments.c.id)
            .with_for_update()
        )
    }
    for comment_id, write in targets.items():
        row = rows.get(comment_id)
        if row is None or row.version != committed_value(write.comment, "version"):
            raise StaleDataError(
                f"comment {comment_id} was changed or deleted by another transaction "
                "after this session loaded it"
            )
        message = messages[comment_id]
        words = word_count(row.message if message is _UNKNOWN else message)  # type: ignore[arg-type]
        write.old = Share(row.thread_id, words)
