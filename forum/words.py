"""The one definition of a word count in this project.

A message's word count is ``len(message.split())``: Python's split on Unicode
white space. An empty or missing message has 0 words. Every counter, the
reconcile tool and the benchmark call this function; nothing else counts words.
"""

from __future__ import annotations


def word_count(message: str | None) -> int:
    """Number of words in ``message`` (0 for None or an empty message)."""
    if not message:
        return 0
    return len(message.split())
