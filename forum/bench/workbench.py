"""What the workloads share: the scales, the seeded world, timing, and the rounds.

Subjects take turns in rounds (in a shuffled order each round) so that a
slow moment of the machine falls on all of them alike. Timings are wall-clock
microseconds around one whole transaction, as a request would see it.
"""

from __future__ import annotations

import random
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select

from .. import counting
from ..models import Comment, User
from ..seeding.corpus import MarkerRates, message
from ..seeding.load import SeedPlan, analyze, seed
from ..words import word_count
from .peers import copy_thread_to_peers, create_peer_schemas
from .subjects import Subject, all_subjects, commit_subjects


@dataclass(frozen=True)
class Scale:
    name: str
    sizes: tuple[int, ...]  # thread sizes for the write-latency workload
    writes: int  # comments per subject per size
    rounds: int
    batch_repeats: int
    writers: tuple[int, ...]
    ops_per_writer: int
    reads: int
    search_sizes: tuple[int, ...]  # corpus sizes (comments), grown in turn
    search_repeats: int
    staleness_seconds: float
    writes_per_second: float = 2.0
    batch: int = 100
    #: The naive recipes crawl with many writers (they reload a growing thread on
    #: every write); two writers already show their drift.
    naive_max_writers: int = 2


SCALES = {
    "full": Scale(
        name="full",
        sizes=(10, 1_000, 100_000),
        writes=200,
        rounds=10,
        batch_repeats=10,
        writers=(1, 2, 4, 8),
        ops_per_writer=40,
        reads=300,
        search_sizes=(100_000, 1_000_000),
        search_repeats=40,
        staleness_seconds=60.0,
    ),
    "quick": Scale(
        name="quick",
        sizes=(10, 1_000, 10_000),
        writes=40,
        rounds=4,
        batch_repeats=3,
        writers=(1, 2, 4, 8),
        ops_per_writer=10,
        reads=60,
        search_sizes=(5_000, 20_000),
        search_repeats=8,
        staleness_seconds=4.0,
        naive_max_writers=2,
    ),
    "tiny": Scale(
        name="tiny",
        sizes=(5, 50, 200),
        writes=6,
        rounds=2,
        batch_repeats=2,
        writers=(1, 2, 4),
        ops_per_writer=4,
        reads=10,
        search_sizes=(300, 900),
        search_repeats=3,
        staleness_seconds=1.0,
        naive_max_writers=2,
    ),
}
SMALL = 1_000  # the naive recipes run only on threads up to this size


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def summary(values_us: list[float]) -> dict:
    return {
        "median_us": round(statistics.median(values_us), 1) if values_us else None,
        "p95_us": round(percentile(values_us, 0.95), 1),
        "n": len(values_us),
    }


def timed(action: Callable[..., Any]) -> tuple[float, Any]:
    """Wall-clock microseconds around ``action``, and what it returned."""
    started = time.perf_counter_ns()
    result = action()
    return (time.perf_counter_ns() - started) / 1000, result


@dataclass
class World:
    """The seeded threads every subject writes to (the same ids in every schema)."""

    author_id: int
    by_size: dict[int, uuid.UUID] = field(default_factory=dict)
    spread: list[uuid.UUID] = field(default_factory=list)  # one per concurrent writer

    @property
    def target(self) -> uuid.UUID:  # where moved comments go
        return self.by_size[min(self.by_size)]

    @property
    def hot_size(self) -> int:
        """The largest size the naive recipes can run on: where everyone meets."""
        return max(s for s in self.by_size if s <= SMALL)

    @property
    def hot(self) -> uuid.UUID:
        return self.by_size[self.hot_size]


class Workbench:
    """What every workload shares: the engine, the scale, the subjects, the seeded
    threads (``prepare``), the shuffled rounds, and the results they fill in."""

    def __init__(self, engine: Engine, scale: Scale, log: Callable[[str], None], seed_: int = 7):
        self.engine = engine
        self.scale = scale
        self.log = log
        self.rng = random.Random(seed_)
        self.rates = MarkerRates.for_corpus(10_000)
        self.subjects = all_subjects()
        #: the strategies with forum.counter_apply = commit (the concurrency workload)
        self.commit_subjects = commit_subjects()
        self.results: dict = {}

    # --- set-up -----------------------------------------------------------------------

    def prepare(self) -> World:
        with self.engine.begin() as connection:
            create_peer_schemas(connection)
        sizes = (*self.scale.sizes, *[10] * max(self.scale.writers))
        self.log(f"seeding threads of {', '.join(f'{s:,}' for s in self.scale.sizes)} comments")
        report = seed(
            self.engine,
            SeedPlan(threads=len(sizes), comments=sum(sizes), boards=2, sizes=sizes, seed=11),
        )
        with counting.CountedSession(self.engine) as session:
            author_id = session.scalar(select(User.id).order_by(User.id).limit(1))
        if author_id is None:
            raise RuntimeError("seeding made no user")
        world = World(author_id=author_id)
        for size, thread_id in zip(sizes, report.thread_ids, strict=True):
            if size in self.scale.sizes and size not in world.by_size:
                world.by_size[size] = thread_id
            else:
                world.spread.append(thread_id)
        with self.engine.begin() as connection:
            for thread_id in report.thread_ids:
                messages = connection.execute(
                    select(Comment.id, Comment.message).where(Comment.thread_id == thread_id)
                ).all()
                copy_thread_to_peers(
                    connection, thread_id, {cid: word_count(m) for cid, m in messages}
                )
        analyze(self.engine)
        return world

    def _message(self) -> str:
        return message(self.rng, self.rates)

    def _subjects_for(self, size: int) -> list[Subject]:
        return [s for s in self.subjects if not s.small_only or size <= SMALL]

    def _rounds(self, subjects: list[Subject], count: int | None = None):
        """``count`` rounds (default: the scale's), the subjects shuffled in each."""
        for _ in range(self.scale.rounds if count is None else count):
            order = subjects[:]
            self.rng.shuffle(order)
            yield order
