"""What a comment contributes to the counters, shared by all three strategies.

A comment adds its words and 1 comment to its thread; the thread passes the
comment (not the words) on to its board. A thread adds 1 thread and its
comments to its board. The strategies differ only in when they notice a change
and how they write it, never in this arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..words import word_count


@dataclass
class ThreadDelta:
    """A change to a thread's ``word_count`` and ``comment_count``."""

    words: int = 0
    comments: int = 0

    def __bool__(self) -> bool:
        return bool(self.words or self.comments)

    def __neg__(self) -> ThreadDelta:
        return ThreadDelta(-self.words, -self.comments)

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


def contribution(message: str | None) -> ThreadDelta:
    """What one comment with ``message`` adds to its thread: its words and 1 comment."""
    return ThreadDelta(words=word_count(message), comments=1)


def thread_membership(comment_count: int, sign: int = 1) -> BoardDelta:
    """What a thread holding ``comment_count`` comments adds to (or takes from) its board."""
    return BoardDelta(threads=sign, comments=sign * comment_count)
