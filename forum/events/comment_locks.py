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

A comment this transaction already read ``FOR UPDATE`` (as the JSON API and
the pages do before changing one) needs none of that: its row is locked and
its loaded values are the row's, so no statement is issued for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import PASSIVE_NO_INITIALIZE, get_history
from sqlalchemy.orm.exc import StaleDataError

from ..models import Comment
from ..orm_history import committed_value
from ..words import word_count
from .copies import row_id
from .flush_plan import CommentWrite, Share
from .strategy import Listener

comments = Comment.__table__

_UNKNOWN = object()

#: session.info key: comments read FOR UPDATE in this transaction
LOCKED = "forum.comments_locked"


def remember_locked(comment: Comment, context: Any, *attrs: Any) -> None:
    """Comment ``load``/``refresh``: note a row read ``FOR UPDATE`` (not FOR SHARE)."""
    # ``context`` is None, or has no statement, for copies made by merge() and the like.
    lock = getattr(getattr(context, "query", None), "_for_update_arg", None)
    session = getattr(context, "session", None)
    if lock is not None and not lock.read and not lock.key_share and session is not None:
        session.info.setdefault(LOCKED, set()).add(inspect(comment))


def _forget_after_commit(session: Session) -> None:
    if not session.in_nested_transaction():  # a released savepoint keeps its locks
        session.info.pop(LOCKED, None)


def _forget_after_rollback(session: Session, previous_transaction: Any) -> None:
    session.info.pop(LOCKED, None)  # conservative: lock again next time


def _already_locked(session: Session, write: CommentWrite) -> Share | None:
    """The old share of a comment read FOR UPDATE in this transaction, from its loaded values."""
    if inspect(write.comment) not in session.info.get(LOCKED, ()):
        return None
    thread_id = _loaded_committed(write.comment, "thread_id")
    message = _loaded_committed(write.comment, "message")
    author_id = _loaded_committed(write.comment, "author_id")
    if _UNKNOWN in (thread_id, message, author_id):
        return None
    return Share(thread_id, word_count(message), author_id)  # type: ignore[arg-type]


def _loaded_committed(comment: Comment, key: str) -> object:
    """``key`` as last loaded or flushed, or _UNKNOWN when the session does not hold it."""
    history = get_history(comment, key, passive=PASSIVE_NO_INITIALIZE)
    if history.deleted:
        return history.deleted[0]
    if history.unchanged:
        return history.unchanged[0]
    return _UNKNOWN


def lock_and_read(session: Session, writes: Iterable[CommentWrite]) -> None:
    """Lock the rows of the UPDATEs and DELETEs in ``writes`` and fill in their ``old`` share."""
    targets = {}
    for write in writes:
        if write.old is not None or inspect(write.comment).key is None:
            continue
        write.old = _already_locked(session, write)
        if write.old is None:  # keyed without loading: the copy may be expired
            targets[row_id(write.comment)] = write
    if not targets:
        return
    messages = {cid: _loaded_committed(w.comment, "message") for cid, w in targets.items()}
    columns = [comments.c.id, comments.c.version, comments.c.thread_id, comments.c.author_id]
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
        write.old = Share(row.thread_id, words, row.author_id)


LOCK_TRACKING = (
    Listener(Comment, "load", remember_locked),
    Listener(Comment, "refresh", remember_locked),
    Listener(Session, "after_commit", _forget_after_commit),
    Listener(Session, "after_soft_rollback", _forget_after_rollback),
)
