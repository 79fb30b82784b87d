"""What a comment contributes to the counters, shared by all three strategies.

A comment adds its words and 1 comment to its thread; the thread passes the
comment (not the words) on to its board. A thread adds 1 thread and its
comments to its board. The strategies differ only in when they notice a change
and how they write it, never in this arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import uuid

    from .flush_plan import Share


@dataclass
class ThreadDelta:
    """A change to a thread's ``word_count`` and ``comment_count``."""

    words: int = 0
    comments: int = 0

    def __bool__(self) -> bool:
        return bool(self.words or self.comments)

    def __iadd__(self, other: ThreadDelta) -> ThreadDelta:
        self.words += other.words
        self.comments += other.comments
        return self


@dataclass
class BoardDelta:
    """A change to a board's ``thread_count`` and ``comment_count``."""

    threads: int = 0
    comments: int = 0

    def __bool__(self) -> bool:
        return bool(self.threads or self.comments)

    def __iadd__(self, other: BoardDelta) -> BoardDelta:
        self.threads += other.threads
        self.comments += other.comments
        return self


def thread_membership(comment_count: int, sign: int = 1) -> BoardDelta:
    """What a thread holding ``comment_count`` comments adds to (or takes from) its board."""
    return BoardDelta(threads=sign, comments=sign * comment_count)


def share_change(
    old: Share | None, new: Share | None
) -> tuple[list[tuple[uuid.UUID | None, ThreadDelta]], list[tuple[Any, int]]]:
    """What a comment's change from share ``old`` to ``new`` (None: no row) does to the
    counters: (thread, delta) pairs, and (author, comments) pairs. Every strategy counts
    and shows a change through this one function."""
    threads: list[tuple[uuid.UUID | None, ThreadDelta]] = []
    if old is not None and new is not None and old.thread_id == new.thread_id:
        if new.words != old.words:
            threads.append((old.thread_id, ThreadDelta(words=new.words - old.words)))
    else:
        if old is not None:
            threads.append((old.thread_id, ThreadDelta(-old.words, -1)))
        if new is not None:
            threads.append((new.thread_id, ThreadDelta(new.words, 1)))
    old_author = old.author if old is not None else None
    new_author = new.author if new is not None else None
    authors = [(old_author, -1), (new_author, 1)] if old_author != new_author else []
    return threads, [(author, n) for author, n in authors if author is not None]
