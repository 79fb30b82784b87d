"""What the next flush will write to comment and thread rows, worked out before it runs.

The ``before_flush`` and ``attribute`` strategies change the parents' counters
before the flush writes the comments, so they must know exactly which rows
the flush will insert, update and delete, and with which thread and message.
Looking only at the changed comment is not enough; SQLAlchemy's unit of work
also decides through the threads' ``comments`` collections:

* a comment appended to a thread's collection is written into that thread,
  even if the comment's own change was expired or refreshed away, and its
  ``session.delete()`` is cancelled (it was re-parented, so it lives on);
* a comment removed from a collection (delete-orphan) is deleted, even if it
  was never passed to ``session.delete()``;
* when both the relationship and the key of a comment were set, the
  relationship wins: the flush copies the related thread's id into the key.

This module follows those rules, and nothing else decides what the strategies
count. The old side of every change is not taken from the session's copy but
from the row itself, read under a lock (``comment_locks``), so a partially
expired or ``load_only`` comment is counted from what the database holds.
``flush_check`` then compares this plan with the rows the flush really writes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import INCLUDE_PENDING_MUTATIONS, PASSIVE_NO_INITIALIZE
from sqlalchemy.orm.attributes import get_history as _get_history
from sqlalchemy.orm.state import InstanceState

from ..models import Board, Comment, Thread, User
from ..orm_history import changed, committed_value
from ..words import word_count

_PENDING = PASSIVE_NO_INITIALIZE | INCLUDE_PENDING_MUTATIONS

#: "The flush does not change this comment's thread": the row's thread, read under lock.
UNCHANGED = object()


@dataclass(frozen=True)
class Share:
    """What one comment adds to the counters: its words and one comment to its thread (and
    so to its board), and one comment to its author (a new author stands for itself)."""

    thread_id: uuid.UUID | None
    words: int
    author: int | User | None = None

    def by_id(self) -> Share:
        """The same share naming its author by id (a new author has one once inserted)."""
        if isinstance(self.author, User):
            return Share(self.thread_id, self.words, inspect(self.author).dict.get("id"))
        return self


@dataclass
class CommentWrite:
    """One comment row the flush writes: ``old`` is None for an INSERT, ``new`` for a DELETE.

    For an UPDATE or DELETE, ``old`` is filled in from the locked row
    (``comment_locks.lock_and_read``) before any counter moves.
    """

    comment: Comment
    old: Share | None = None
    #: The thread written, or UNCHANGED (the row's, once read).
    new_thread: Thread | uuid.UUID | object | None = None
    #: The new message's words, or None for "unchanged" (the row's, once read).
    new_words: int | None = None
    #: The author written, or UNCHANGED (the row's, once read).
    new_author: int | User | object | None = UNCHANGED
    deleted: bool = False

    def new(self) -> Share | None:
        if self.deleted:
            return None
        old = self.old
        if UNCHANGED in (self.new_thread, self.new_author) or self.new_words is None:
            assert old is not None, "the row is read before its share is needed"
        thread = old.thread_id if old is not None and self.new_thread is UNCHANGED else None
        if self.new_thread is not UNCHANGED:
            thread = thread_key(self.new_thread)  # type: ignore[arg-type]
        words = old.words if old is not None and self.new_words is None else self.new_words
        author = old.author if old is not None and self.new_author is UNCHANGED else None
        if self.new_author is not UNCHANGED:
            author = self.new_author  # type: ignore[assignment]
        return Share(thread, words or 0, author)


@dataclass
class ThreadWrite:
    """A thread row the flush inserts, moves to another board, or deletes."""

    thread: Thread
    new_board: Board | int | None = None
    inserted: bool = False
    deleted: bool = False


@dataclass
class FlushPlan:
    comments: dict[InstanceState, CommentWrite] = field(default_factory=dict)
    threads: list[ThreadWrite] = field(default_factory=list)


def _pk(obj: object) -> Any:
    """An object's primary key without loading anything (it may be expired or detached)."""
    state = inspect(obj)
    return state.key[1][0] if state.key is not None else state.dict.get("id")


def thread_key(thread: Thread | uuid.UUID | None) -> uuid.UUID | None:
    """A thread's id, from the object or the key (threads have an id from construction)."""
    return _pk(thread) if isinstance(thread, Thread) else thread


def board_key(board: Board | int | None) -> int | Board | None:
    """A board's id; a new board (no id yet) stands for itself."""
    if isinstance(board, Board):
        return _pk(board) if _pk(board) is not None else board
    return board


def _history(obj: object, key: str):
    return _get_history(obj, key, passive=_PENDING)


def written_thread(comment: Comment) -> Thread | uuid.UUID | object | None:
    """The thread the flush writes into ``comment.thread_id`` (the relationship wins);
    UNCHANGED when neither the relationship nor the key was changed."""
    history = _history(comment, "thread")
    if history.added:
        return history.added[0]
    if history.deleted:
        return None  # ``comment.thread = None``: the flush clears the key
    if changed(comment, "thread_id") or inspect(comment).key is None:
        return comment.__dict__.get("thread_id")
    return UNCHANGED


def author_key(author: User | int | None) -> User | int | None:
    """A user's id; a new user (no id yet) stands for itself."""
    if isinstance(author, User):
        return _pk(author) if inspect(author).key is not None else author
    return author


def written_author(comment: Comment) -> User | int | object | None:
    """The author the flush writes (the relationship wins); UNCHANGED if not changed."""
    history = _history(comment, "author")
    if history.added:
        return author_key(history.added[0])
    if history.deleted:
        return None
    if changed(comment, "author_id") or inspect(comment).key is None:
        return comment.__dict__.get("author_id")
    return UNCHANGED


def written_board(thread: Thread) -> Board | int | None:
    """The board the flush writes into ``thread.board_id`` (the relationship wins)."""
    history = _history(thread, "board")
    if history.added:
        return history.added[0]
    if history.deleted:
        return None
    if "board_id" in thread.__dict__:
        return thread.__dict__["board_id"]
    return committed_value(thread, "board_id")


def _message_words(comment: Comment) -> int | None:
    """The words of a changed message; None when the message is not being changed."""
    if changed(comment, "message"):
        return word_count(comment.__dict__.get("message"))
    return None


def _collection_changes(
    session: Session, saved: set[InstanceState]
) -> tuple[dict[InstanceState, Thread], set[InstanceState]]:
    """Comments that threads' ``comments`` collections re-parent, and orphans they delete."""
    parent_of: dict[InstanceState, Any] = {}
    orphaned: set[InstanceState] = set()
    has_parent = Thread.comments.impl.hasparent
    for state in saved | {inspect(obj) for obj in session.deleted}:
        if not isinstance(state.obj(), Thread):
            continue
        history = _history(state.obj(), "comments")
        if state in saved:  # a thread being deleted re-parents nothing
            for child in history.added:
                if child is not None:
                    parent_of[inspect(child)] = state.obj()
        for child in history.deleted:
            if child is not None and has_parent(inspect(child)) is False:
                orphaned.add(inspect(child))
    return parent_of, orphaned


def plan_flush(session: Session) -> FlushPlan:
    """What the coming flush writes for comments and threads, by SQLAlchemy's own rules."""
    plan = FlushPlan()
    deleted = {inspect(obj) for obj in session.deleted}
    saved = {inspect(obj) for obj in (*session.new, *session.dirty)} - deleted
    parent_of, orphaned = _collection_changes(session, saved)
    comment_mapper = inspect(Comment)

    def is_orphan(state: InstanceState) -> bool:
        return state.key is not None and (state in orphaned or comment_mapper._is_orphan(state))

    for state in saved | deleted | set(parent_of) | orphaned:
        comment = state.obj()
        if not isinstance(comment, Comment) or comment is None:
            continue
        if state.session_id != session.hash_key:
            continue  # re-parented in a collection but not in this session: not written
        is_deleted = (state in deleted and state not in parent_of) or (
            state not in deleted and is_orphan(state)
        )
        if is_deleted:
            if state.key is not None:
                plan.comments[state] = CommentWrite(comment, deleted=True)
            continue
        thread = parent_of[state] if state in parent_of else written_thread(comment)
        author = written_author(comment)
        if state.key is None:
            new_words = word_count(comment.__dict__.get("message"))
            plan.comments[state] = CommentWrite(
                comment, new_thread=thread, new_words=new_words, new_author=author
            )
            continue
        words = _message_words(comment)
        if thread is not UNCHANGED or words is not None or author is not UNCHANGED:
            plan.comments[state] = CommentWrite(
                comment, new_thread=thread, new_words=words, new_author=author
            )

    for obj in session.new:
        if isinstance(obj, Thread) and inspect(obj) not in deleted:
            plan.threads.append(ThreadWrite(obj, new_board=written_board(obj), inserted=True))
    for obj in session.dirty:
        if isinstance(obj, Thread) and inspect(obj) not in deleted:
            if not (changed(obj, "board") or changed(obj, "board_id")):
                continue
            board = written_board(obj)
            if board_key(board) != committed_value(obj, "board_id"):
                plan.threads.append(ThreadWrite(obj, new_board=board))
    for obj in session.deleted:
        if isinstance(obj, Thread) and inspect(obj).key is not None:
            plan.threads.append(ThreadWrite(obj, deleted=True))
    return plan
