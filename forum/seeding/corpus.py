"""Synthetic messages that look like forum text to PostgreSQL's search and to the counters.

* Words come from a fixed vocabulary with Zipf-like weights (word number r is
  drawn with weight 1/(r + 10)): a few words are everywhere, most are rare.
* Message lengths are log-normal (median about 25 words, a long tail up to a
  few hundred), with the odd paragraph break.
* Three marker words give the benchmark's search workloads known shapes:
  ``BROAD_WORD`` appears in about half the comments, ``SELECTIVE_WORD`` in a
  few hundred of them, ``PHRASE`` as an exact phrase in about a thousand.

Everything is drawn from a seeded ``random.Random``, so a seed reproduces a corpus.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

from .vocabulary import WORDS

BROAD_WORD = "harbour"
SELECTIVE_WORD = "zeppelin"
PHRASE = "denormalized counter"

_CUMULATIVE = list(itertools.accumulate(1.0 / (rank + 10) for rank in range(len(WORDS))))


@dataclass(frozen=True)
class MarkerRates:
    """How often each marker goes into a message, for a corpus of ``comments`` messages."""

    broad: float
    selective: float
    phrase: float

    @classmethod
    def for_corpus(cls, comments: int) -> MarkerRates:
        comments = max(comments, 1)
        return cls(broad=0.5, selective=min(1.0, 300 / comments), phrase=min(1.0, 1000 / comments))


def message(rng: random.Random, rates: MarkerRates) -> str:
    """One synthetic message."""
    length = max(1, min(600, int(rng.lognormvariate(3.2, 0.8))))
    words = rng.choices(WORDS, cum_weights=_CUMULATIVE, k=length)
    for word, rate in ((BROAD_WORD, rates.broad), (SELECTIVE_WORD, rates.selective)):
        if rng.random() < rate:
            words[rng.randrange(len(words))] = word
    if rng.random() < rates.phrase:
        at = rng.randrange(len(words))
        words[at : at + 1] = PHRASE.split()
    words[0] = words[0].capitalize()
    if len(words) > 60 and rng.random() < 0.5:  # a paragraph break in a long message
        middle = len(words) // 2
        words[middle] += ".\n\n" + words[middle + 1].capitalize()
        del words[middle + 1]
    return " ".join(words) + "."


def title(rng: random.Random) -> str:
    """A thread title: a few words, capitalized."""
    words = rng.choices(WORDS, cum_weights=_CUMULATIVE, k=rng.randint(3, 9))
    return " ".join(words).capitalize()
