"""Bulk-loading a synthetic forum: COPY from parallel workers, then one counter pass.

The rows bypass the ORM (that is the point: speed), so the counter strategies
never see them. Instead each worker adds up, with the one ``word_count``
function, what each thread it wrote holds; the totals are then COPYed into a
temporary table and written with one set-based UPDATE per table, so
``forum-reconcile`` finds no drift afterwards.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import queue
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, insert, text, update

from ..counters.reconcile import set_counters as set_declared
from ..counting import FORUM_COUNTERS
from ..database import psycopg2_connection
from ..models import Board, SearchRefreshState, Thread, User
from ..words import word_count
from .corpus import MarkerRates, message, title

#: What an account made by the seeder has instead of a password: nobody can sign in.
UNUSABLE_PASSWORD = "!seeded-account-no-password"
COMMENT_COLUMNS = "(thread_id, author_id, message, created_at, updated_at, version)"


@dataclass(frozen=True)
class SeedPlan:
    threads: int
    comments: int
    boards: int = 5
    hot_threads: int = 0
    seed: int = 1
    workers: int = field(default_factory=lambda: max(1, min(4, os.cpu_count() or 1)))
    #: Exact comments per thread (forum-bench's threads of 10, 1,000, 100,000 comments);
    #: overrides threads, comments and hot_threads.
    sizes: tuple[int, ...] | None = None


@dataclass
class SeedReport:
    boards: int = 0
    users: int = 0
    threads: int = 0
    comments: int = 0
    words: int = 0
    seconds: float = 0.0
    thread_ids: list[uuid.UUID] = field(default_factory=list)
    #: The hot threads' ids (the --hot-thread ones), longest first.
    hot_thread_ids: list[uuid.UUID] = field(default_factory=list)


def thread_sizes(plan: SeedPlan, rng: random.Random) -> list[int]:
    """Comments per thread: an opening post each; half the rest to the hot threads;
    the other half spread with a heavy tail (a few long threads, many short ones)."""
    if plan.sizes is not None:
        return list(plan.sizes)
    if plan.threads <= 0:
        return []
    sizes = [1 if n < plan.comments else 0 for n in range(plan.threads)]
    rest = max(0, plan.comments - plan.threads)
    hot = min(plan.hot_threads, plan.threads)
    if hot:
        share = rest // 2 // hot
        for n in range(hot):
            sizes[n] += share
        rest -= share * hot
    normal = range(hot, plan.threads) if hot < plan.threads else range(plan.threads)
    weights = [rng.paretovariate(1.3) for _ in normal]
    for index, count in Counter(rng.choices(list(normal), weights=weights, k=rest)).items():
        sizes[index] += count
    return sizes


class _Rows(io.TextIOBase):
    """A file-like stream of COPY text lines, for ``cursor.copy_expert``."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = iter(lines)
        self._buffer = ""

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> str:
        if size is None:
            size = -1
        while size < 0 or len(self._buffer) < size:
            chunk = "".join(line for _, line in zip(range(1000), self._lines, strict=False))
            if not chunk:
                break
            self._buffer += chunk
        if size < 0:
            size = len(self._buffer)
        out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out


def _copy_text(value: str) -> str:
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def _copy(connection: Connection, table_and_columns: str, lines: Iterable[str]) -> None:
    with psycopg2_connection(connection).cursor() as cursor:
        cursor.copy_expert(f"COPY {table_and_columns} FROM STDIN", _Rows(lines), size=1 << 16)


@dataclass(frozen=True)
class _ThreadJob:
    thread_id: uuid.UUID
    created_at: datetime
    comments: int


def _comment_lines(
    jobs: list[_ThreadJob],
    authors: list[int],
    seed: int,
    rates: MarkerRates,
    now: datetime,
    totals: dict,
    progress: Callable[[int], None],
) -> Iterator[str]:
    rng = random.Random(seed)
    written = 0
    for job in jobs:
        span = (now - job.created_at).total_seconds()
        words = 0
        last = job.created_at
        for k in range(job.comments):
            text_ = message(rng, rates)
            words += word_count(text_)
            last = job.created_at + timedelta(seconds=span * (k + rng.random()) / job.comments)
            stamp = last.isoformat()
            author = rng.choice(authors)
            yield f"{job.thread_id}\t{author}\t{_copy_text(text_)}\t{stamp}\t{stamp}\t1\n"
            written += 1
            if written % 5000 == 0:
                progress(5000)
        totals[job.thread_id] = (words, job.comments, last)
    progress(written % 5000)


def _write_comments(
    url: str,
    jobs: list[_ThreadJob],
    authors: list[int],
    seed: int,
    rates: MarkerRates,
    now: datetime,
    done,
    results,
) -> None:
    """In a worker process: generate and COPY the comments of ``jobs``; send their totals."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    totals: dict = {}

    def progress(n: int) -> None:
        with done.get_lock():
            done.value += n

    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("SET LOCAL synchronous_commit = off")
            _copy(
                connection,
                f"comments {COMMENT_COLUMNS}",
                _comment_lines(jobs, authors, seed, rates, now, totals, progress),
            )
        results.put(totals)
    except Exception as error:  # the parent reports it
        results.put(error)
    finally:
        engine.dispose()


def _split(jobs: list[_ThreadJob], parts: int) -> list[list[_ThreadJob]]:
    """Balance threads over workers by their comment counts (largest first)."""
    buckets: list[list[_ThreadJob]] = [[] for _ in range(parts)]
    loads = [0] * parts
    for job in sorted(jobs, key=lambda j: j.comments, reverse=True):
        lightest = loads.index(min(loads))
        buckets[lightest].append(job)
        loads[lightest] += job.comments
    return [bucket for bucket in buckets if bucket]


def seed(
    engine: Engine, plan: SeedPlan, progress: Callable[[int, int], None] | None = None
) -> SeedReport:
    """Load ``plan`` into the database behind ``engine``; ``progress(done, total)`` as it goes."""
    started = time.monotonic()
    rng = random.Random(plan.seed)
    now = datetime.now(UTC)
    report = SeedReport()
    sizes = thread_sizes(plan, rng)
    rates = MarkerRates.for_corpus(sum(sizes))
    run = uuid.uuid4().hex[:6]

    with engine.begin() as connection:
        users = max(10, plan.threads // 10)
        author_ids = (
            connection.execute(
                insert(User).returning(User.id),
                [
                    {"username": f"seed{run}{n:06d}", "password_hash": UNUSABLE_PASSWORD}
                    for n in range(users)
                ],
            )
            .scalars()
            .all()
        )
        board_ids = (
            connection.execute(
                insert(Board).returning(Board.id),
                [
                    {"slug": f"seed-{run}-{n + 1}", "title": f"{title(rng)} ({n + 1})"}
                    for n in range(plan.boards)
                ],
            )
            .scalars()
            .all()
        )
        jobs = []
        thread_rows = []
        for size in sizes:
            thread_id = uuid.uuid4()  # fresh ids every run; the content is what --seed repeats
            created = now - timedelta(seconds=rng.uniform(3600, 365 * 86400))
            jobs.append(_ThreadJob(thread_id, created, size))
            stamp = created.isoformat()
            thread_rows.append(
                f"{thread_id}\t{rng.choice(board_ids)}\t{rng.choice(author_ids)}\t"
                f"{_copy_text(title(rng))}\t{stamp}\t{stamp}\n"
            )
        _copy(
            connection,
            "threads (id, board_id, author_id, title, created_at, last_activity_at)",
            thread_rows,
        )
    report.boards, report.users, report.threads = len(board_ids), len(author_ids), len(jobs)
    report.thread_ids = [job.thread_id for job in jobs]
    report.hot_thread_ids = [job.thread_id for job in jobs[: min(plan.hot_threads, len(jobs))]]

    url = engine.url.render_as_string(hide_password=False)
    context = multiprocessing.get_context("fork")
    done, results = context.Value("q", 0), context.Queue()
    workers = [
        context.Process(
            target=_write_comments,
            args=(url, part, author_ids, plan.seed + 1000 + n, rates, now, done, results),
        )
        for n, part in enumerate(_split(jobs, plan.workers))
    ]
    for worker in workers:
        worker.start()
    totals: dict = {}
    for _ in workers:
        while True:
            if progress is not None:
                progress(done.value, sum(sizes))
            try:
                outcome = results.get(timeout=0.2)
                break
            except queue.Empty:
                continue
        if isinstance(outcome, Exception):
            raise RuntimeError(f"a seeding worker failed: {outcome}") from outcome
        totals.update(outcome)
    for worker in workers:
        worker.join()
    if progress is not None:
        progress(done.value, sum(sizes))

    with engine.begin() as connection:
        set_counters(connection, totals)
    report.comments = sum(count for _, count, _ in totals.values())
    report.words = sum(words for words, _, _ in totals.values())
    report.seconds = time.monotonic() - started
    return report


def set_counters(connection: Connection, totals: dict) -> None:
    """One set-based pass: the seeded threads' counters (the words were counted as they were
    generated), then every other counter the forum declares (boards, users).

    Also bumps the search view's generation: the materialized form is stale now.
    """
    connection.exec_driver_sql(
        "CREATE TEMPORARY TABLE seeded_totals "
        "(thread_id uuid PRIMARY KEY, words integer, comments integer, last_at timestamptz) "
        "ON COMMIT DROP"
    )
    _copy(
        connection,
        "seeded_totals",
        (
            f"{thread_id}\t{words}\t{comments}\t{last.isoformat()}\n"
            for thread_id, (words, comments, last) in totals.items()
        ),
    )
    connection.execute(
        text(
            "UPDATE threads SET word_count = t.words, comment_count = t.comments, "
            "last_activity_at = t.last_at FROM seeded_totals t WHERE threads.id = t.thread_id"
        )
    )
    # Every other counter from the declaration, set-based, in lock order (the boards'
    # comments roll up the threads' counts just set).
    set_declared(FORUM_COUNTERS, connection, skip=[Thread.word_count, Thread.comment_count])
    connection.execute(
        update(SearchRefreshState).values(generation=SearchRefreshState.generation + 1)
    )


def analyze(engine: Engine) -> None:
    """Fresh planner statistics (and flushed GIN pending lists) after a bulk load."""
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        for table in ("users", "boards", "threads", "comments"):
            connection.exec_driver_sql(f"VACUUM ANALYZE {table}")
