"""Strategy ``attribute`` (the default): counters fresh in memory the moment you change a comment.

Two halves with one rule between them: **the database is never written from
memory.**

* *The database*: at each flush, exactly what ``before_flush`` does
  (``flush_counts``): the rows the flush will write, against what those rows
  hold now under lock, as ``SET x = x + :delta`` in lock order. Whatever the
  session did before (expire, refresh, expunge, re-add, savepoints), only
  what is really written is counted.
* *Memory*: attribute ``set`` events on ``Comment.message``, ``Comment.thread``
  and ``Comment.thread_id`` (and ``Thread.board``/``board_id``, and a comment
  or thread joining or leaving the session) show the change on the loaded
  ``Thread`` and ``Board`` objects at once, as the classic answer does, so
  ``thread.word_count`` is right before anything is flushed. Each listener
  does the same thing: work out the share the comment *would* write now (by
  the same rules as the flush plan), compare it with the share memory shows
  for it, and move the difference. The values are set with
  ``set_committed_value``, so they are never flushed; after every flush the
  parents hold the values the database returned, and memory starts afresh.

What memory shows only after the next flush (the database is exact all the
same): ``session.delete()`` (a session has no event for it), a thread's
counts on its board after the thread is expired, refreshed or expunged, and
another transaction's changes.

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
from sqlalchemy.orm.exc import ObjectDeletedError
from sqlalchemy.orm.state import InstanceState
from sqlalchemy.orm.util import identity_key

from ..models import Board, Comment, Thread, User
from ..orm_history import changed, committed_value
from ..words import word_count
from .bulk_guard import GUARDS
from .comment_locks import LOCK_TRACKING
from .copies import BOOKKEEPING, COUNTERS, is_new, new_object, row_id, start_at_zero
from .deltas import ThreadDelta, share_change, thread_membership
from .flush_check import FLUSH_CHECK
from .flush_counts import count_flush
from .flush_plan import (
    UNCHANGED,
    Share,
    thread_key,
    written_author,
    written_board,
    written_thread,
)
from .ownership import OWNED_COUNTERS
from .strategy import CounterStrategy, Listener

MEMORY = "forum.attribute_memory"

_NOT_SET = object()


#: A board as memory knows it: a persistent one by id, a new one (no id yet) by itself.
BoardRef = Board | int


def _board_ref(board: Board | int | None) -> BoardRef | None:
    if isinstance(board, Board) and not is_new(board):
        return board.id
    return board


@dataclass
class ThreadShown:
    """Where a thread's counts are, for its board's counters in memory."""

    row_board: BoardRef | None  # the board its row names (None for a new thread)
    board: BoardRef | None  # the board memory shows it on now
    comments: int = 0  # the comments it brought there, when memory moved it


@dataclass
class Memory:
    """What this session shows on its parents beyond their rows, since the last flush.

    A persistent parent's change is kept in ``pending`` by its key and shown on
    its loaded copy when there is one; a copy loaded (or reloaded) later gets
    it on load. Nothing is ever read from the database to show a change.
    """

    #: comment -> (the share its row holds, the share memory shows for it)
    comments: dict[InstanceState, tuple[Share | None, Share | None]] = field(default_factory=dict)
    #: thread -> where its row puts it, and where memory shows it
    threads: dict[InstanceState, ThreadShown] = field(default_factory=dict)
    #: (Thread or Board, key) -> counter -> the change not written yet
    pending: dict[tuple[type, Any], dict[str, int]] = field(default_factory=dict)
    #: thread id -> comments added to a thread not loaded yet (its board is not known yet)
    unrouted: dict[uuid.UUID, int] = field(default_factory=dict)
    #: persistent copies whose counters show a pending change
    bumped: list[Any] = field(default_factory=list)
    #: thread id -> the Thread object a comment names by relationship (maybe not attached yet)
    hints: dict[uuid.UUID, Thread] = field(default_factory=dict)
    #: set while a flush runs: the flush's own key copies are not changes
    flushing: bool = False


def _memory(session: Session) -> Memory:
    return session.info.setdefault(MEMORY, Memory())


def _forget(session: Session, *args: Any) -> None:
    session.info.pop(MEMORY, None)


# --- showing a change on the parents -------------------------------------------


def _show_on_copy(session: Session, obj: Any, amounts: dict[str, int]) -> None:
    """Add ``amounts`` to the loaded counters of a persistent copy (never flushed)."""
    state = inspect(obj)
    changed_any = False
    for name, amount in amounts.items():
        if amount and name in state.dict:  # not loaded: it will be, with the pending change
            set_committed_value(obj, name, state.dict[name] + amount)
            changed_any = True
    if changed_any:
        _memory(session).bumped.append(obj)  # the flush replaces it with the row's


def _add(session: Session, cls: type, parent: Any, **amounts: int) -> None:
    """Show a change on a parent given as an object or a key."""
    if parent is None or not any(amounts.values()):
        return
    if isinstance(parent, cls) and is_new(parent):
        # Goes into its INSERT (recomputed at the flush). Only what is loaded: a rollback
        # may be taking the object out of the session while this runs.
        loaded = inspect(parent).dict
        for name, amount in amounts.items():
            if name in loaded:
                setattr(parent, name, loaded[name] + amount)
        return
    key = row_id(parent) if isinstance(parent, cls) else parent
    pending = _memory(session).pending.setdefault((cls, key), {})
    for name, amount in amounts.items():
        pending[name] = pending.get(name, 0) + amount
    copy = parent if isinstance(parent, cls) else _loaded(session, cls, key)
    if copy is not None:
        _show_on_copy(session, copy, amounts)


def _loaded(session: Session, cls: type, pk: Any) -> Any:
    """The session's object for ``pk`` (pending or in the identity map); never a SELECT."""
    if pk is None:
        return None
    return (
        (cls is Thread and _memory(session).hints.get(pk))
        or new_object(session, cls, pk)
        or session.identity_map.get(identity_key(cls, pk))
    )


def _thread_shown(session: Session, thread: Thread, *, quiet: bool) -> ThreadShown | None:
    """Where memory shows ``thread``; None when its board is not known without a SELECT."""
    threads = _memory(session).threads
    state = inspect(thread)
    if state not in threads:
        if is_new(thread):
            row_board = None  # counted on its board once it joins the session
        elif "board_id" in state.dict or "board_id" in state.committed_state:
            row_board = state.committed_state.get("board_id", state.dict.get("board_id"))
        elif quiet or state.session_id != session.hash_key:
            return None  # not readable now (a detached thread still being attached)
        else:
            row_board = committed_value(thread, "board_id")  # the thread is in the session
        threads[state] = ThreadShown(row_board, row_board)
    return threads[state]


def _show_thread_on(
    session: Session, thread: Thread, shown: ThreadShown, board: BoardRef | None, *, quiet: bool
) -> None:
    """Move ``thread`` (one thread and its comments) to ``board`` in memory."""
    if board == shown.board:
        return
    if shown.board is None or shown.board == shown.row_board:
        # Its count as shown now; later comments to it follow it (_show_on_thread).
        if quiet and "comment_count" not in inspect(thread).dict:
            return  # nothing known to move: right after the flush
        shown.comments = thread.comment_count
    for target, sign in ((shown.board, -1), (board, 1)):
        change = thread_membership(shown.comments, sign)
        _add(session, Board, target, thread_count=change.threads, comment_count=change.comments)
    shown.board = board


def _show_on_thread(
    session: Session, thread_id: uuid.UUID | None, delta: ThreadDelta, *, quiet: bool
) -> None:
    if thread_id is None or not delta:
        return
    thread = _loaded(session, Thread, thread_id)
    _add(
        session,
        Thread,
        thread if thread is not None else thread_id,
        word_count=delta.words,
        comment_count=delta.comments,
    )
    if not delta.comments:
        return
    shown = _thread_shown(session, thread, quiet=quiet) if thread is not None else None
    if shown is None:  # its board is learned when the thread is loaded (_on_load)
        unrouted = _memory(session).unrouted
        unrouted[thread_id] = unrouted.get(thread_id, 0) + delta.comments
        return
    shown.comments += delta.comments
    _add(session, Board, shown.board, comment_count=delta.comments)


def _on_load(target: Any, context: Any, attrs: Any = None) -> None:
    """A parent loaded or refreshed: show this session's pending change on it again."""
    session = object_session(target)
    if session is None:
        return
    memory = session.info.get(MEMORY)
    if memory is None or memory.flushing:
        return
    key = inspect(target).key
    if key is None:  # merge() of a new object fires "load" before it has a row
        return
    pending = memory.pending.get((type(target), key[1][0]))
    if pending:
        loaded = {n: a for n, a in pending.items() if attrs is None or n in attrs}
        _show_on_copy(session, target, loaded)
    if isinstance(target, Thread) and target.id in memory.unrouted:
        shown = _thread_shown(session, target, quiet=True)
        if shown is not None:
            comments = memory.unrouted.pop(target.id)
            shown.comments += comments
            _add(session, Board, shown.board, comment_count=comments)


def _on_refresh(target: Thread | Board, context: Any, attrs: Any) -> None:
    _on_load(target, context, attrs)


def _show_move(session: Session, old: Share | None, new: Share | None, *, quiet: bool) -> None:
    if old == new:
        return
    threads, authors = share_change(old, new)
    for author, comments in authors:
        _add(session, User, author, comment_count=comments)
    for thread_id, delta in threads:
        _show_on_thread(session, thread_id, delta, quiet=quiet)


# --- what a comment would write now -------------------------------------------


def _row_share(comment: Comment, *, quiet: bool) -> Share | None:
    """The share the comment's row holds (None for a new comment, or quiet and unknown)."""
    state = inspect(comment)
    if state.key is None:
        return None
    if quiet:
        if any(key not in state.dict for key in ("thread_id", "message", "author_id")):
            return None
        return Share(
            state.committed_state.get("thread_id", state.dict["thread_id"]),
            word_count(state.committed_state.get("message", state.dict["message"])),
            state.committed_state.get("author_id", state.dict["author_id"]),
        )
    return Share(
        committed_value(comment, "thread_id"),
        word_count(committed_value(comment, "message")),
        committed_value(comment, "author_id"),
    )


def _pending_share(
    session: Session, comment: Comment, row: Share | None, key: str | None, value: Any
) -> Share | None:
    """The share the comment would write if the session flushed now, with ``key`` about
    to be set to ``value`` (the relationship wins over the key, as in the flush)."""
    if object_session(comment) is not session or inspect(comment).deleted:
        return row if inspect(comment).key is not None else None
    for related in (comment.__dict__.get("thread"), value):
        if isinstance(related, Thread) and row_id(related) is not None:
            _memory(session).hints[row_id(related)] = related
    if key == "thread":
        thread: Any = value
    elif key == "thread_id" and not changed(comment, "thread"):
        thread = value
    else:
        thread = written_thread(comment)
        if thread is UNCHANGED:
            thread = row.thread_id if row is not None else None
    if key == "message":
        words = word_count(value)
    elif changed(comment, "message") or row is None:
        words = word_count(comment.__dict__.get("message"))
    else:
        words = row.words
    author = written_author(comment)
    if author is UNCHANGED:
        author = row.author if row is not None else None
    return Share(thread_key(thread), words, author)  # type: ignore[arg-type]


def _resync(
    session: Session | None,
    comment: Comment,
    key: str | None = None,
    value: Any = _NOT_SET,
    *,
    quiet: bool = False,
) -> None:
    """Make memory show the share ``comment`` would write now.

    ``quiet`` (expire, refresh, expunge, rollback): read nothing from the
    database, touch only loaded values; what cannot be shown is right after
    the next flush.
    """
    if session is None:
        return
    memory = _memory(session)
    if memory.flushing:
        return
    state = inspect(comment)
    if state in memory.comments:
        row, shown = memory.comments[state]
    else:
        try:
            row = _row_share(comment, quiet=quiet)
        except ObjectDeletedError:
            return  # its row is gone (another delete): the flush will say so, not memory
        if row is None and state.key is not None:
            return  # quiet, and nothing shown for it yet: nothing to take back
        shown = row
    with session.no_autoflush:
        now = _pending_share(session, comment, row, key, value)
        _show_move(session, shown, now, quiet=quiet)
    memory.comments[state] = (row, now)


def _resync_thread(session: Session, thread: Thread, board: Any = _NOT_SET) -> None:
    """Show ``thread`` (with its comments) on the board it would be written on now."""
    if _memory(session).flushing:
        return
    with session.no_autoflush:
        try:
            shown = _thread_shown(session, thread, quiet=False)
            if board is _NOT_SET:
                board = written_board(thread)
            assert shown is not None  # not quiet: the thread's board is read if need be
            _show_thread_on(session, thread, shown, _board_ref(board), quiet=False)
        except ObjectDeletedError:
            return  # its row is gone (another delete): the flush will say so, not memory


def _take_back_thread(session: Session, thread: Thread, *, leaving: bool) -> None:
    """The thread's unflushed board change was discarded (expired, refreshed) or leaves
    the session with it: show it on its row's board again, reading nothing."""
    memory = session.info.get(MEMORY)
    if memory is None or memory.flushing:  # the flush expires server defaults: not a discard
        return
    shown = memory.threads.get(inspect(thread))
    if shown is None:
        return
    if leaving or not (changed(thread, "board") or changed(thread, "board_id")):
        _show_thread_on(session, thread, shown, shown.row_board, quiet=True)
    if leaving:
        del memory.threads[inspect(thread)]


# --- the listeners -------------------------------------------------------------


def message_set(comment: Comment, value: Any, oldvalue: Any, initiator: Any) -> None:
    _resync(object_session(comment), comment, "message", value)


def thread_set(comment: Comment, value: Any, oldvalue: Any, initiator: Any) -> None:
    _resync(object_session(comment), comment, "thread", value)


def thread_id_set(comment: Comment, value: Any, oldvalue: Any, initiator: Any) -> None:
    _resync(object_session(comment), comment, "thread_id", value)


def board_set(thread: Thread, value: Any, oldvalue: Any, initiator: Any) -> None:
    session = object_session(thread)
    if session is not None:
        _resync_thread(session, thread, value)


def board_id_set(thread: Thread, value: Any, oldvalue: Any, initiator: Any) -> None:
    session = object_session(thread)
    if session is not None and not changed(thread, "board"):  # the relationship wins
        _resync_thread(session, thread, value)


def object_joined(session: Session, obj: object) -> None:
    """transient -> pending: its share starts to show; a new parent starts from zero."""
    if isinstance(obj, Comment):
        _resync(session, obj)
    elif isinstance(obj, Thread | Board | User):
        _start_from_zero(session, obj)
        if isinstance(obj, Thread):
            _resync_thread(session, obj)


def object_returned(session: Session, obj: object) -> None:
    """detached -> persistent (``session.add`` of a detached object): its unflushed change
    shows again, from loaded values only (its related objects are still being attached)."""
    if isinstance(obj, Comment):
        _resync(session, obj, quiet=True)


def _start_from_zero(session: Session, parent: Thread | Board | User) -> None:
    """A new parent's counters belong to the strategy: zero, plus what memory shows on it
    already (comments and threads that joined the session before it did)."""
    memory = _memory(session)
    start_at_zero(parent)
    if isinstance(parent, User):
        parent.comment_count = sum(
            1 for _row, shown in memory.comments.values() if shown and shown.author is parent
        )
        return
    if isinstance(parent, Thread):
        for _row, shown in memory.comments.values():
            if shown is not None and shown.thread_id == parent.id:
                parent.word_count += shown.words
                parent.comment_count += 1
    else:
        for placed in memory.threads.values():
            if placed.board is parent:
                parent.thread_count += 1
                parent.comment_count += placed.comments


def object_left(session: Session, obj: object) -> None:
    """pending -> transient, persistent -> detached: its unflushed change leaves with it."""
    memory = session.info.get(MEMORY)
    if memory is None:
        return
    state = inspect(obj)
    if isinstance(obj, Comment) and state in memory.comments:
        row, shown = memory.comments.pop(state)
        _show_move(session, shown, row, quiet=True)
    elif isinstance(obj, Thread):
        _take_back_thread(session, obj, leaving=True)


def comment_expired(comment: Comment | None, attrs: Any) -> None:
    """``session.expire(comment[, attrs])``: the expired attributes' changes are gone."""
    if comment is not None:
        _resync(object_session(comment), comment, quiet=True)


def comment_refreshed(comment: Comment, context: Any, attrs: Any) -> None:
    """``session.refresh(comment[, attrs])``: the refreshed attributes' changes are gone."""
    _resync(object_session(comment), comment, quiet=True)


def thread_expired(thread: Thread | None, attrs: Any) -> None:
    """``session.expire(thread[, attrs])``: a discarded move is taken back from memory."""
    session = object_session(thread) if thread is not None else None
    if thread is not None and session is not None:
        _take_back_thread(session, thread, leaving=False)


def thread_refreshed(thread: Thread, context: Any, attrs: Any) -> None:
    session = object_session(thread)
    if session is not None:
        _take_back_thread(session, thread, leaving=False)


def flush_starting(session: Session, flush_context: UOWTransaction, instances: object) -> None:
    """Write what the flush will write (never the memory), then let the flush run.

    Memory is dropped first: the parents' counters come back from the rows the
    counting UPDATEs return, or are read again, so memory never outlives a flush.
    """
    for parent in _memory(session).bumped:
        state = inspect(parent)
        if state.session_id == session.hash_key and state.key and not state.deleted:
            session.expire(parent, list(COUNTERS[type(parent)]))
    session.info[MEMORY] = Memory(flushing=True)
    with session.no_autoflush:
        count_flush(session)


STRATEGY = CounterStrategy(
    name="attribute",
    listeners=(
        *GUARDS,
        Listener(Comment.message, "set", message_set),
        Listener(Comment.thread, "set", thread_set),
        Listener(Comment.thread_id, "set", thread_id_set),
        Listener(Thread.board, "set", board_set),
        Listener(Thread.board_id, "set", board_id_set),
        Listener(Session, "transient_to_pending", object_joined),
        Listener(Session, "detached_to_persistent", object_returned),
        Listener(Session, "pending_to_transient", object_left),
        Listener(Session, "persistent_to_detached", object_left),
        Listener(Comment, "expire", comment_expired),
        Listener(Comment, "refresh", comment_refreshed),
        Listener(Thread, "expire", thread_expired),
        Listener(Thread, "refresh", thread_refreshed),
        Listener(Thread, "load", _on_load),
        Listener(Thread, "refresh", _on_refresh),
        Listener(Board, "load", _on_load),
        Listener(Board, "refresh", _on_refresh),
        Listener(User, "load", _on_load),
        Listener(User, "refresh", _on_refresh),
        Listener(Session, "before_flush", flush_starting),
        *FLUSH_CHECK,
        *LOCK_TRACKING,
        Listener(Session, "after_flush_postexec", _forget),
        Listener(Session, "after_commit", _forget),
        Listener(Session, "after_soft_rollback", _forget),
        *OWNED_COUNTERS,
        *BOOKKEEPING,
    ),
)
