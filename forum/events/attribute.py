"""Strategy ``attribute`` (the default): counters fresh in memory the moment you change a comment.

Attribute ``set`` events on ``Comment.message``, ``Comment.thread`` and
``Comment.thread_id`` (and on ``Thread.board``/``board_id``, and the session's
add and expunge) change the in-memory ``Thread`` and ``Board`` counters at
once, as the classic answer does, so ``thread.word_count`` is right before
anything is flushed.

What the classic answer gets wrong, and what this module does instead:

* It flushes the in-memory value (``SET word_count = 15``), so two requests
  writing to one thread overwrite each other's increments. Here each change
  is also recorded as a delta in a per-session ledger, and the flush writes
  the ledger (``UPDATE ... SET word_count = word_count + :delta``, in lock
  order, through ``parent_updates`` like every strategy). The objects are
  changed with ``set_committed_value``, so they are never flushed as values;
  expiring or refreshing a thread before the flush loses nothing.
* It counts a comment that is merely constructed with ``thread=t``. Here a
  comment counts once it belongs to a session, and stops counting when it is
  expunged, deleted, or its unflushed change is thrown away (expired,
  refreshed, detached).
* Setting the relationship and then flushing also sets ``thread_id``, which
  fires a second event. The ledger records where each changed comment is
  counted, so every event is idempotent.

A session has no event at ``delete()`` time, so deletes are counted in
``before_flush``, which also locks the changed comments (``comment_locks``)
and writes the ledger.

Cannot see: changes that do not pass through the session (Core or raw SQL);
ORM bulk statements are refused (``bulk_guard``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session, UOWTransaction, object_session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.state import InstanceState
from sqlalchemy.orm.util import identity_key

from ..models import Board, Comment, Thread
from ..words import word_count
from .bulk_guard import REFUSE_BULK_WRITES
from .comment_locks import comments_changing_counters, lock_current
from .copies import BOOKKEEPING, REFRESHED, is_new, new_object, row_id
from .deltas import BoardDelta, ThreadDelta, thread_membership
from .history import committed_value
from .ownership import OWNED_COUNTERS
from .parent_updates import ParentUpdates
from .strategy import CounterStrategy, Listener

LEDGER = "forum.attribute_ledger"


@dataclass
class CommentHome:
    """Where a comment's contribution is counted in memory, and where it was at the last flush."""

    thread: Thread | None
    words: int
    committed_thread: Thread | None = None
    committed_words: int = 0


@dataclass
class Ledger:
    """This session's changes since its last flush."""

    homes: dict[InstanceState, CommentHome] = field(default_factory=dict)
    #: thread -> the board its counts are in, in memory
    boards: dict[InstanceState, Board | None] = field(default_factory=dict)
    #: the same changes as deltas for the rows, written at the next flush
    rows: ParentUpdates = field(default_factory=ParentUpdates)


def _ledger(session: Session) -> Ledger:
    return session.info.setdefault(LEDGER, Ledger())


def _forget(session: Session, *args: Any) -> None:
    session.info.pop(LEDGER, None)


def _get(session: Session, cls: type, pk: Any) -> Any:
    """The object with key ``pk``: created in this session, or loaded (a SELECT by key)."""
    if pk is None:
        return None
    return new_object(session, cls, pk) or session.get(cls, pk)


# --- in-memory arithmetic -----------------------------------------------------


def _bump(session: Session, obj: Any, *, loaded_only: bool = False, **amounts: int) -> None:
    """Change counters in memory. A new object's go into its INSERT; a persistent one's are
    set as committed values: fresh for the reader, never flushed (the ledger carries them)."""
    state = inspect(obj)
    changed = False
    for name, amount in amounts.items():
        if not amount or (loaded_only and name not in state.dict):
            continue
        value = getattr(obj, name) + amount
        if state.key is None:
            setattr(obj, name, value)
        else:
            set_committed_value(obj, name, value)
            changed = True
    if changed:  # a rollback must expire these values again (copies._expire_refreshed)
        session.info.setdefault(REFRESHED, []).append(obj)


def _thread_board(session: Session, thread: Thread, *, load: bool = True) -> Board | None:
    """The board whose counts include ``thread`` in memory (None if none yet).

    With ``load=False`` (during a rollback or an expiry) nothing is read from
    the database: only a board already in the session is found.
    """
    if object_session(thread) is not session:
        return None  # a thread outside the session is not counted anywhere
    boards = _ledger(session).boards
    state = inspect(thread)
    if state in boards:
        return boards[state]
    if is_new(thread):
        return None  # counted once it joins the session (_thread_added_to)
    board_id = state.dict.get("board_id")
    if not load:
        return session.identity_map.get(identity_key(Board, board_id)) if board_id else None
    boards[state] = _get(session, Board, committed_value(thread, "board_id"))
    return boards[state]


def _add_to_thread(
    session: Session, thread: Thread, delta: ThreadDelta, *, loaded_only: bool = False
) -> None:
    _bump(
        session,
        thread,
        loaded_only=loaded_only,
        word_count=delta.words,
        comment_count=delta.comments,
    )
    board = _thread_board(session, thread, load=not loaded_only) if delta.comments else None
    if board is not None:
        _bump(session, board, loaded_only=loaded_only, comment_count=delta.comments)
    rows = _ledger(session).rows
    if not is_new(thread):
        rows.add_to_thread(row_id(thread), delta)  # its board's share follows the row's board
    elif board is not None and not is_new(board):
        rows.add_to_board(row_id(board), BoardDelta(comments=delta.comments))


def _comment_home(session: Session, comment: Comment) -> CommentHome:
    """The comment's ledger record, made from its committed state on first touch."""
    homes = _ledger(session).homes
    state = inspect(comment)
    home = homes.get(state)
    if home is None:
        if is_new(comment):  # added before this strategy was installed: not counted yet
            home = CommentHome(None, 0)
        else:
            thread = _get(session, Thread, committed_value(comment, "thread_id"))
            words = word_count(committed_value(comment, "message"))
            home = CommentHome(thread, words, thread, words)
        homes[state] = home
    return home


def _move_comment(
    session: Session, comment: Comment, new_thread: Thread | None, *, loaded_only: bool = False
) -> None:
    home = _comment_home(session, comment)
    if new_thread is home.thread:
        return
    share = ThreadDelta(words=home.words, comments=1)
    if home.thread is not None:
        _add_to_thread(session, home.thread, -share, loaded_only=loaded_only)
    if new_thread is not None:
        _add_to_thread(session, new_thread, share, loaded_only=loaded_only)
    home.thread = new_thread


def _set_words(
    session: Session, comment: Comment, words: int, *, loaded_only: bool = False
) -> None:
    home = _comment_home(session, comment)
    if home.thread is not None and words != home.words:
        _add_to_thread(
            session, home.thread, ThreadDelta(words=words - home.words), loaded_only=loaded_only
        )
    home.words = words


def _move_thread(session: Session, thread: Thread, new_board: Board | None) -> None:
    """In memory at once (with the thread's counts as this session knows them); the
    database gets the exact count, read under a lock, at the flush."""
    ledger = _ledger(session)
    old_board = _thread_board(session, thread)
    if new_board is old_board:
        return
    count = thread.comment_count
    for board, sign in ((old_board, -1), (new_board, 1)):
        # A board created in this transaction gets the exact count at the flush,
        # straight into its INSERT (parent_updates): nothing to show before that.
        if board is not None and not is_new(board):
            change = thread_membership(count, sign)
            _bump(session, board, thread_count=change.threads, comment_count=change.comments)
    ledger.rows.thread_leaves_board(row_id(thread))
    if new_board is not None:
        ledger.rows.thread_joins_board(row_id(thread), new_board)
    ledger.boards[inspect(thread)] = new_board


def _thread_added_to(session: Session, thread: Thread, board: Board | None) -> None:
    """A new thread's board is set (or changed) before its INSERT: its counts are in memory."""
    ledger = _ledger(session)
    old_board = ledger.boards.get(inspect(thread))
    if old_board is board:
        return
    for target, sign in ((old_board, -1), (board, 1)):
        if target is not None:
            change = thread_membership(thread.comment_count, sign)
            _bump(session, target, thread_count=change.threads, comment_count=change.comments)
            if not is_new(target):
                ledger.rows.add_to_board(row_id(target), change)
    ledger.boards[inspect(thread)] = board


# --- the listeners ------------------------------------------------------------
# Each runs under ``no_autoflush``: reading an expired counter must not flush a
# half-built object in the middle of the event.


def message_set(comment: Comment, value: str | None, oldvalue: Any, initiator: Any) -> None:
    session = object_session(comment)
    if session is not None:  # not counted until it joins a session
        with session.no_autoflush:
            _set_words(session, comment, word_count(value))


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
        current = row_id(home.thread) if home.thread is not None else None
        if value != current:  # not the flush copying the relationship into the key
            _move_comment(session, comment, _get(session, Thread, value))


def board_set(thread: Thread, value: Board | None, oldvalue: Any, initiator: Any) -> None:
    session = object_session(thread)
    if session is None:
        return
    with session.no_autoflush:
        if is_new(thread):
            _thread_added_to(session, thread, value)
        else:
            _move_thread(session, thread, value)


def board_id_set(thread: Thread, value: int | None, oldvalue: Any, initiator: Any) -> None:
    session = object_session(thread)
    if session is None:
        return
    with session.no_autoflush:
        board = _thread_board(session, thread)
        if (row_id(board) if board is not None else None) == value:
            return  # the flush copying the relationship into the key
        new_board = _get(session, Board, value)
        if is_new(thread):
            _thread_added_to(session, thread, new_board)
        else:
            _move_thread(session, thread, new_board)


def object_added(session: Session, obj: object) -> None:
    """transient -> pending: the comment (or thread) starts to count."""
    with session.no_autoflush:
        if isinstance(obj, Comment):
            _ledger(session).homes[inspect(obj)] = CommentHome(None, word_count(obj.message))
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
    ledger = session.info.get(LEDGER)
    if ledger is None:
        return
    if isinstance(obj, Comment) and inspect(obj) in ledger.homes:
        _move_comment(session, obj, None, loaded_only=True)
        del ledger.homes[inspect(obj)]
    elif isinstance(obj, Thread) and inspect(obj) in ledger.boards:
        board = ledger.boards.pop(inspect(obj))
        if board is not None:
            change = thread_membership(obj.comment_count, -1)
            _bump(
                session,
                board,
                loaded_only=True,
                thread_count=change.threads,
                comment_count=change.comments,
            )
            if not is_new(board):
                ledger.rows.add_to_board(row_id(board), change)


#: A comment's counted attributes: a discarded change to any of them is undone.
COUNTED = {"message", "thread", "thread_id"}


def _undo_unflushed(session: Session | None, comment: Comment) -> None:
    """Count the comment where it was at the last flush again, and forget its change.

    Only values already in memory are touched, and nothing is read: this runs
    while a session expires, refreshes, closes or rolls back.
    """
    ledger = session.info.get(LEDGER) if session is not None else None
    home = ledger.homes.get(inspect(comment)) if ledger is not None else None
    if home is None:
        return
    _move_comment(session, comment, home.committed_thread, loaded_only=True)
    _set_words(session, comment, home.committed_words, loaded_only=True)
    del ledger.homes[inspect(comment)]


def comment_expired(comment: Comment | None, attrs: Any) -> None:
    """``session.expire(comment)``: its unflushed change is thrown away."""
    if comment is None:  # already garbage-collected: nothing counted in memory
        return
    if attrs is None or COUNTED & set(attrs):
        _undo_unflushed(object_session(comment), comment)


def comment_refreshed(comment: Comment, context: Any, attrs: Any) -> None:
    """``session.refresh(comment)``: its unflushed change is replaced by the row."""
    if attrs is None or COUNTED & set(attrs):
        _undo_unflushed(object_session(comment), comment)


def comment_detached(session: Session, obj: object) -> None:
    """``session.expunge(comment)`` (or close): its unflushed change leaves with it."""
    if isinstance(obj, Comment):
        _undo_unflushed(session, obj)


def flush_starting(session: Session, flush_context: UOWTransaction, instances: object) -> None:
    """before_flush: check the changed comments are current, count the deletes, write the ledger.

    Locking the changed comments and comparing versions first means a stale copy
    raises StaleDataError (and the request is retried) before any counter moves.
    """
    lock_current(session, comments_changing_counters(session))
    deleted = list(session.deleted)
    with session.no_autoflush:
        for obj in deleted:
            if isinstance(obj, Comment):
                _move_comment(session, obj, None)
        for obj in deleted:
            if isinstance(obj, Thread):
                board = _thread_board(session, obj)
                if board is not None:
                    change = thread_membership(obj.comment_count, -1)
                    _bump(
                        session, board, thread_count=change.threads, comment_count=change.comments
                    )
                _ledger(session).rows.thread_leaves_board(row_id(obj))
    ledger = session.info.get(LEDGER)
    if ledger is not None and ledger.rows:
        ledger.rows.apply(session.connection(), session)


STRATEGY = CounterStrategy(
    name="attribute",
    listeners=(
        Listener(Comment.message, "set", message_set),
        Listener(Comment.thread, "set", thread_set),
        Listener(Comment.thread_id, "set", thread_id_set),
        Listener(Thread.board, "set", board_set),
        Listener(Thread.board_id, "set", board_id_set),
        Listener(Session, "transient_to_pending", object_added),
        Listener(Session, "pending_to_transient", object_removed),
        Listener(Comment, "expire", comment_expired),
        Listener(Comment, "refresh", comment_refreshed),
        Listener(Session, "persistent_to_detached", comment_detached),
        Listener(Session, "before_flush", flush_starting),
        Listener(Session, "after_flush_postexec", _forget),
        Listener(Session, "after_commit", _forget),
        Listener(Session, "after_soft_rollback", _forget),
        REFUSE_BULK_WRITES,
        *OWNED_COUNTERS,
        *BOOKKEEPING,
    ),
)
