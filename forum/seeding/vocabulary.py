"""A fixed vocabulary of everyday English words for synthetic messages.

Ordered roughly from common to rare; ``corpus`` draws from it with Zipf-like
weights, so a few words are everywhere and most are rare, as in real text.
The words are data, kept in ``words.txt`` beside this module (package data).
"""

from __future__ import annotations

from importlib.resources import files


def _read_words() -> tuple[str, ...]:
    text = files(__package__).joinpath("words.txt").read_text(encoding="utf-8")
    return tuple(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


WORDS: tuple[str, ...] = _read_words()
