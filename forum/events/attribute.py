"""Strategy ``attribute`` (the default): counters fresh in memory the moment you change a comment.

Attribute ``set`` events on ``Comment.message``, ``Comment.thread`` and
``Comment.thread_id`` (and the session's add, expunge and delete) change the
in-memory ``Thread`` and ``Board`` counters at once, as the classic answer
does, so ``thread.word_count`` is right before anything is flushed.

What the classic answer gets wrong, and what this module does instead:

* It flushes the in-memory value (``SET word_count = 15``), so two requests
  writing to one thread overwrite each other's increments. Here a
  ``before_update`` listener on ``Thread`` and ``Board`` turns every counter
  change into ``SET word_count = word_count + (new - loaded)``. After the
  flush the attribute is expired, and the next read gets the database's value.
* It counts a comment that is merely constructed with ``thread=t``. Here a
  comment counts once it belongs to a session (pending or persistent), and
  stops counting when it is expunged or deleted.
* Setting the relationship and then flushing also sets ``thread_id``, which
  fires a second event. A per-session ledger records where each changed comment
  is counted, so every event is idempotent.
* A deleted thread's board must lose the comments the thread has *now*, not
  a copy loaded earlier: that count is read under a row lock (board first,
  then thread, the order the flush itself uses).

Cannot see: changes that do not pass through the session (Core or raw SQL);
a pending counter change discarded with ``session.expire(thread)`` or
``refresh`` before the flush (see ``tests/test_counter_limits.py``); ORM bulk
statements are refused (``bulk_guard``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, inspect, select
from sqlalchemy.orm import Mapper, Session, UOWTransaction, object_session
from sqlalchemy.orm.attributes import get_history

from ..models import Board, Comment, Thread
from ..models.board import BOARD_COUNTERS
from ..models.thread import THREAD_COUNTERS
from ..words import word_count
from .bulk_guard import REFUSE_BULK_WRITES
from .comment_locks import comments_changing_counters, lock_current
from .deltas import ThreadDelta, thread_membership
from .history import committed_value
from .parent_updates import locked_comment_count
from .strategy import CounterStrategy, Listener

LEDGER = "forum.attribute_ledger"


@dataclass
class CommentHome:
    """Where a comment's contribution is counted in memory right now."""

    thread: Thread | None
    words: int


def _ledger(session: Session) -> dict[Any, Any]:
    """Per-session records of changed comments (CommentHome) and threads (their Board)."""
    return session.info.setdefault(LEDGER, {})


def _forget(session: Session, *args: Any) -> None:
    session.info.pop(LEDGER, None)


def _is_new(obj: object) -> bool:
    return inspect(obj).key is None


def _get(session: Session, cls: type, pk: Any) -> Any:
    return None if pk is None else session.get(cls, pk)


# --- where things are counted -------------------------------------------------


def _comment_home(session: Session, comment: Comment) -> CommentHome:
    """The comment's ledger record, made from its committed state on first touch."""
    ledger = _ledger(session)
    state = inspect(comment)
    home = ledger.get(state)
    if home is None:
        if _is_new(comment):  # added before this strategy was installed: count it now
            home = CommentHome(None, 0)
        else:
            thread = _get(session, Thread, committed_value(comment, "thread_id"))
            home = CommentHome(thread, word_count(committed_value(comment, "message")))
        ledger[state] = home
    return home


def _thread_board(session: Session, thread: Thread) -> Board | None:
    """The board whose counters currently include ``thread`` (None if none yet)."""
    if object_session(thread) is not session:
        return None  # a thread outside the session is not counted anywhere
    ledger = _ledger(session)
    state = inspect(thread)
    if state not in ledger:
        if _is_new(thread):
            return None  # counted once it joins the session (thread_added)
        ledger[state] = _get(session, Board, committed_value(thread, "board_id"))
    return ledger[state]


# --- in-memory arithmetic -----------------------------------------------------


def _add_to_thread(session: Session, thread: Thread, delta: ThreadDelta) -> None:
    if delta.words:
        thread.word_count += delta.words
    if delta.comments:
        thread.comment_count += delta.comments
        board = _thread_board(session, thread)
        if board is not None:
            board.comment_count += delta.comments


def _move_comment(session: Session, comment: Comment, new_thread: Thread | None) -> None:
    home = _comment_home(session, comment)
    if new_thread is home.thread:
        return
    share = ThreadDelta(words=home.words, comments=1)
    if home.thread is not None:
        _add_to_thread(session, home.thread, -share)
    if new_thread is not None:
        _add_to_thread(session, new_thread, share)
    home.thread = new_thread


def _current_comment_count(session: Session, thread: Thread, boards: list[Board]) -> int:
    """How many comments ``thread`` holds now: its locked row plus this session's unflushed change.

    Locks the boards (in id order) before the thread, the order the flush
    itself writes them in, so this cannot deadlock with a comment writer.
    """
    if _is_new(thread):
        return thread.comment_count
    connection: Connection = session.connection()
    board_ids = sorted({board.id for board in boards if board is not None and board.id})
    if board_ids:
        connection.execute(
            select(Board.id).where(Board.id.in_(board_ids)).order_by(Board.id).with_for_update()
        ).all()
    history = get_history(thread, "comment_count")
    unflushed = history.added[0] - history.deleted[0] if history.added and history.deleted else 0
    return locked_comment_count(connection, thread.id) + unflushed


def _move_thread(session: Session, thread: Thread, new_board: Board | None) -> None:
    old_board = _thread_board(session, thread)
    if new_board is old_board:
        return
    count = _current_comment_count(session, thread, [old_board, new_board])
    for board, sign in ((old_board, -1), (new_board, 1)):
        if board is not None:
            change = thread_membership(count, sign)
            board.thread_count += change.threads
            board.comment_count += change.comments
    _ledger(session)[inspect(thread)] = new_board


# --- the listeners ------------------------------------------------------------
# Each runs under ``no_autoflush``: reading an expired counter must not flush a
# half-built object in the middle of the event.


def message_set(comment: Comment, value: str | None, oldvalue: Any, initiator: Any) -> None:
    session = object_session(comment)
    if session is None:
        return  # not counted until it joins a session
    with session.no_autoflush:
        home = _comment_home(session, comment)
        words = word_count(value)
        if home.thread is not None and words != home.words:
            _add_to_thread(session, home.thread, ThreadDelta(words=words - home.words))
        home.words = words


def thread_set(comment: Comment, value: Thread | None, oldvalue: Any, initiator: Any) -> None:
    session = object_session(comment)
    if session is not None:
        with session.no_autoflush:
            _move_comment(session, comment, value)


def thread_id_set(comment: Comment, value: uuid.UUID | None, oldvalue: Any, initiator: Any) -> None:
    session = object_session(comment)
    if session is None:
        return
    with session.no_autoflush:
        home = _comment_home(session, comment)
        current = home.thread.id if home.thread is not None else None
        if value != current:  # not the flush copying the relationship into the key
            _move_comment(session, comment, _get(session, Thread, value))


def board_set(thread: Thread, value: Board | None, oldvalue: Any, initiator: Any) -> None:
    session = object_session(thread)
    if session is None:
        return
    with session.no_autoflush:
        if _is_new(thread):
            _thread_added_to(session, thread, value)
        else:
            _move_thread(session, thread, value)


def board_id_set(thread: Thread, value: int | None, oldvalue: Any, initiator: Any) -> None:
    session = object_session(thread)
    if session is None:
        return
    with session.no_autoflush:
        board = _thread_board(session, thread)
        if (board.id if board is not None else None) == value:
            return  # the flush copying the relationship into the key
        new_board = _get(session, Board, value)
        if _is_new(thread):
            _thread_added_to(session, thread, new_board)
        else:
            _move_thread(session, thread, new_board)


def _thread_added_to(session: Session, thread: Thread, board: Board | None) -> None:
    """A new thread's board is set (or changed) before its INSERT: its counts are in memory."""
    ledger = _ledger(session)
    old_board = ledger.get(inspect(thread))
    if old_board is board:
        return
    for target, sign in ((old_board, -1), (board, 1)):
        if target is not None:
            change = thread_membership(thread.comment_count, sign)
            target.thread_count += change.threads
            target.comment_count += change.comments
    ledger[inspect(thread)] = board


def object_added(session: Session, obj: object) -> None:
    """transient -> pending: the comment (or thread) starts to count."""
    with session.no_autoflush:
        if isinstance(obj, Comment):
            _ledger(session)[inspect(obj)] = CommentHome(None, word_count(obj.message))
            thread = obj.__dict__.get("thread") or _get(
                session, Thread, obj.__dict__.get("thread_id")
            )
            _move_comment(session, obj, thread)
        elif isinstance(obj, Thread):
            board = obj.__dict__.get("board") or _get(session, Board, obj.__dict__.get("board_id"))
            _thread_added_to(session, obj, board)


def object_removed(session: Session, obj: object) -> None:
    """pending -> transient (expunged, or its transaction rolled back): stop counting it.

    Touches only values already in memory: during a rollback the parents are
    expired right afterwards anyway, and no SQL may run.
    """
    ledger = session.info.get(LEDGER, {})
    record = ledger.pop(inspect(obj), None)
    if isinstance(obj, Comment) and isinstance(record, CommentHome) and record.thread:
        thread = record.thread
        _subtract_loaded(thread, {"word_count": record.words, "comment_count": 1})
        board = ledger.get(inspect(thread))
        if board is not None:
            _subtract_loaded(board, {"comment_count": 1})
    elif isinstance(obj, Thread) and isinstance(record, Board):
        _subtract_loaded(record, {"thread_count": 1, "comment_count": obj.comment_count})


def _subtract_loaded(obj: object, amounts: dict[str, int]) -> None:
    loaded = inspect(obj).dict
    for name, amount in amounts.items():
        if name in loaded and amount:
            setattr(obj, name, loaded[name] - amount)


def flush_starting(session: Session, flush_context: UOWTransaction, instances: object) -> None:
    """before_flush: check the changed comments are current, then count the deletes.

    The in-memory deltas were computed from the comments as this session loaded
    them; locking those rows and comparing versions first means a stale copy
    raises StaleDataError (and the request is retried) before any counter moves.
    A session has no event at ``delete()`` time, so deletes are counted here.
    """
    lock_current(session, comments_changing_counters(session))
    deleted = list(session.deleted)
    for obj in deleted:
        if isinstance(obj, Comment):
            _move_comment(session, obj, None)
    for obj in deleted:
        if isinstance(obj, Thread):
            _move_thread(session, obj, None)


def counters_as_increments(mapper: Mapper, connection: Connection, target: object) -> None:
    """before_update on Thread and Board: flush ``x = x + (new - loaded)``, never ``x = new``."""
    names = THREAD_COUNTERS if isinstance(target, Thread) else BOARD_COUNTERS
    column_owner = type(target)
    for name in names:
        history = get_history(target, name)
        if history.added and history.deleted:
            delta = history.added[0] - history.deleted[0]
            setattr(target, name, getattr(column_owner, name) + delta)


STRATEGY = CounterStrategy(
    name="attribute",
    listeners=(
        Listener(Comment.message, "set", message_set, {"active_history": True}),
        Listener(Comment.thread, "set", thread_set),
        Listener(Comment.thread_id, "set", thread_id_set, {"active_history": True}),
        Listener(Thread.board, "set", board_set),
        Listener(Thread.board_id, "set", board_id_set, {"active_history": True}),
        Listener(Session, "transient_to_pending", object_added),
        Listener(Session, "pending_to_transient", object_removed),
        Listener(Session, "before_flush", flush_starting),
        Listener(Session, "after_flush_postexec", _forget),
        Listener(Session, "after_commit", _forget),
        Listener(Session, "after_soft_rollback", _forget),
        Listener(Thread, "before_update", counters_as_increments),
        Listener(Board, "before_update", counters_as_increments),
        REFUSE_BULK_WRITES,
    ),
)
