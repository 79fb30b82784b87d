"""Running the comparison: every subject, every workload, alternating, on a scratch database.

Subjects take turns in rounds (in a shuffled order each round) so that a
slow moment of the machine falls on all of them alike. Timings are wall-clock
microseconds around one whole transaction, as a request would see it.
"""

from __future__ import annotations

import dataclasses
import os
import random
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import Engine, event, select, text
from sqlalchemy.orm import Session

from .. import events
from ..models import Comment, Thread, User
from ..search import requests as search_refresh
from ..search.query import search, shape_for
from ..search.ranking import ranked_page
from ..search.refresh import refresh_until_fresh
from ..search.runners import BackgroundRunner
from ..search.views import FORMS
from ..seeding.corpus import BROAD_WORD, PHRASE, SELECTIVE_WORD, MarkerRates, message
from ..seeding.load import SeedPlan, analyze, seed
from ..words import word_count
from .peers import copy_thread_to_peers, create_peer_schemas
from .subjects import Subject, all_subjects


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


def timed(action: Callable[[], object]) -> tuple[float, object]:
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


class Bench:
    def __init__(self, engine: Engine, scale: Scale, log: Callable[[str], None], seed_: int = 7):
        self.engine = engine
        self.scale = scale
        self.log = log
        self.rng = random.Random(seed_)
        self.rates = MarkerRates.for_corpus(10_000)
        self.subjects = all_subjects()
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
        with Session(self.engine) as session:
            author_id = session.scalar(select(User.id).order_by(User.id).limit(1))
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

    # --- 1. write latency against thread size ------------------------------------------

    def write_latency(self, world: World) -> None:
        results: dict = {}
        per_round = max(1, self.scale.writes // self.scale.rounds)
        for size, thread_id in sorted(world.by_size.items()):
            subjects = self._subjects_for(size)
            self.log(f"write latency on a thread of {size:,} comments: {len(subjects)} subjects")
            samples: dict[str, list[float]] = {s.name: [] for s in subjects}
            for order in self._rounds(subjects):
                for subject in order:
                    subject.activate()
                    for _ in range(per_round):
                        elapsed, _ = timed(
                            lambda s=subject, t=thread_id: s.create(
                                self.engine, t, world.author_id, [self._message()]
                            )
                        )
                        samples[subject.name].append(elapsed)
            for name, values in samples.items():
                results.setdefault(name, {})[str(size)] = summary(values)
        for by_size in results.values():
            measured = [
                by_size[str(s)]["median_us"] for s in sorted(world.by_size) if str(s) in by_size
            ]
            by_size["growth"] = round(measured[-1] / measured[0], 2) if len(measured) > 1 else None
        self.results["write_latency"] = {"sizes": sorted(world.by_size), "results": results}

    # --- 2. statements per operation -----------------------------------------------------

    def statements(self, world: World) -> None:
        self.log("statements per operation")
        thread_id = world.hot
        results = {}
        for subject in self.subjects:
            subject.activate()
            created = subject.create(self.engine, thread_id, world.author_id, [self._message()])
            edited = subject.edit(self.engine, created.comment_id, self._message())
            moved = subject.move(self.engine, created.comment_id, world.target)
            deleted = subject.delete(self.engine, created.comment_id)
            results[subject.name] = {
                "create": created.statements,
                "edit": edited.statements,
                "move": moved.statements,
                "delete": deleted.statements,
            }
        self.results["statements"] = {
            "operations": ["create", "edit", "move", "delete"],
            "thread_size": world.hot_size,
            "results": results,
        }

    # --- 3. batched writes -------------------------------------------------------------

    def batched(self, world: World) -> None:
        self.log(f"batched writes: {self.scale.batch} comments in one transaction")
        thread_id = world.hot
        results: dict = {s.name: {"samples": [], "statements": 0} for s in self.subjects}
        for order in self._rounds(self.subjects, self.scale.batch_repeats):
            for subject in order:
                subject.activate()
                batch = [self._message() for _ in range(self.scale.batch)]
                elapsed, outcome = timed(
                    lambda s=subject, b=batch: s.create(self.engine, thread_id, world.author_id, b)
                )
                results[subject.name]["samples"].append(elapsed)
                results[subject.name]["statements"] = outcome.statements
        self.results["batched"] = {
            "batch": self.scale.batch,
            "results": {
                name: {
                    **summary(r["samples"]),
                    "statements": r["statements"],
                    "per_comment_us": round(statistics.median(r["samples"]) / self.scale.batch, 1),
                }
                for name, r in results.items()
            },
        }

    # --- 4. concurrent writers -----------------------------------------------------------

    def concurrency(self, world: World) -> None:
        # The naive recipes left wrong counters behind in the earlier workloads:
        # start exact, so any drift below is the subject's own.
        for subject in self.subjects:
            self._drift(subject, {world.target, *world.spread})
        results: dict = {"hot": {}, "spread": {}}
        for writers in self.scale.writers:
            for target in ("hot", "spread"):
                self.log(f"concurrency: {writers} writer(s), {target}")
                order = [
                    s
                    for s in self.subjects
                    if s.kind != "naive" or writers <= self.scale.naive_max_writers
                ]
                self.rng.shuffle(order)
                for subject in order:
                    subject.activate()
                    threads = [world.hot] * writers if target == "hot" else world.spread[:writers]
                    results[target].setdefault(subject.name, {})[str(writers)] = self._writers(
                        subject, world, threads
                    )
        self.results["concurrency"] = {
            "writers": list(self.scale.writers),
            "ops_per_writer": self.scale.ops_per_writer,
            "results": results,
        }

    def _writers(self, subject: Subject, world: World, threads: list[uuid.UUID]) -> dict:
        latencies: list[float] = []
        retries = 0
        lock = threading.Lock()
        messages = [[self._message() for _ in range(self.scale.ops_per_writer)] for _ in threads]

        def writer(index: int) -> None:
            nonlocal retries
            for text_ in messages[index]:
                elapsed, outcome = timed(
                    lambda t=text_: subject.create(
                        self.engine, threads[index], world.author_id, [t]
                    )
                )
                with lock:
                    latencies.append(elapsed)
                    retries += outcome.retries

        started = time.perf_counter()
        with ThreadPoolExecutor(len(threads)) as pool:
            list(pool.map(writer, range(len(threads))))
        elapsed = time.perf_counter() - started
        drift = self._drift(subject, set(threads))
        return {
            "throughput": round(len(latencies) / elapsed, 1),
            "p95_ms": round(percentile(latencies, 0.95) / 1000, 2),
            "retries": retries,
            "drift": drift,
        }

    def _drift(self, subject: Subject, thread_ids: set) -> int:
        """Counters of ``thread_ids`` (and their boards) that differ from the truth; then repair
        them, so the next subject starts exact."""
        if not subject.keeps_counters:
            return 0
        schema = subject.schema
        drifted = 0
        with self.engine.begin() as connection:
            for thread_id in thread_ids:
                stored = connection.execute(
                    text(
                        f"SELECT word_count, comment_count, board_id FROM {schema}.threads "
                        "WHERE id = :t"
                    ),
                    {"t": thread_id},
                ).one()
                messages = (
                    connection.execute(
                        text(f"SELECT message FROM {schema}.comments WHERE thread_id = :t"),
                        {"t": thread_id},
                    )
                    .scalars()
                    .all()
                )
                true = (sum(word_count(m) for m in messages), len(messages))
                drifted += sum(a != b for a, b in zip(stored[:2], true, strict=True))
                if stored[:2] != true:
                    connection.execute(
                        text(
                            f"UPDATE {schema}.threads SET word_count = :w, comment_count = :c "
                            "WHERE id = :t"
                        ),
                        {"w": true[0], "c": true[1], "t": thread_id},
                    )
            boards = connection.execute(
                text(
                    f"SELECT b.id, b.comment_count, (SELECT count(*) FROM {schema}.comments c "
                    f"JOIN {schema}.threads t ON t.id = c.thread_id WHERE t.board_id = b.id) "
                    f"FROM {schema}.boards b"
                )
            ).all()
            for board_id, stored, true in boards:
                if subject.kind != "naive" and stored != true:  # the recipe keeps no boards
                    drifted += 1
                if stored != true:
                    connection.execute(
                        text(f"UPDATE {schema}.boards SET comment_count = :c WHERE id = :b"),
                        {"c": true, "b": board_id},
                    )
        return drifted

    # --- 5. the read path ----------------------------------------------------------------

    def read_path(self, world: World) -> None:
        size = max(world.by_size)
        thread_id = world.by_size[size]
        self.log(f"read path: a thread header at {size:,} comments")
        queries = {
            "counter_columns": "SELECT title, word_count, comment_count FROM threads "
            "WHERE id = %(t)s",
            "compute_on_read": "SELECT t.title, count(c.id), coalesce(sum(c.words), 0) "
            "FROM peer_compute.threads t LEFT JOIN peer_compute.comments c "
            "ON c.thread_id = t.id WHERE t.id = %(t)s GROUP BY t.title",
        }
        samples: dict[str, list[float]] = {name: [] for name in queries}
        raw = self.engine.raw_connection()
        try:
            with raw.cursor() as cursor:
                for _ in range(self.scale.reads):
                    for name, sql in queries.items():
                        elapsed, _ = timed(
                            lambda q=sql: (
                                cursor.execute(q, {"t": str(thread_id)}),
                                cursor.fetchall(),
                            )
                        )
                        samples[name].append(elapsed)
            raw.rollback()
        finally:
            raw.close()
        self.results["read_path"] = {
            "thread_size": size,
            "results": {k: summary(v) for k, v in samples.items()},
        }

    # --- 6. search ---------------------------------------------------------------------

    #: The search workload's queries: (name, text, page). Page 5 of the broad word
    #: shows that later pages of a bounded ranking cost what page 1 costs.
    SEARCHES = (
        ("selective", SELECTIVE_WORD, 1),
        ("phrase", f'"{PHRASE}"', 1),
        ("broad", BROAD_WORD, 1),
        ("broad page 5", BROAD_WORD, 5),
    )

    def search(self, world: World) -> None:
        results: dict = {"sizes": [], "queries": {}, "refresh_seconds": {}, "headlines": {}}
        results["cores"] = os.cpu_count()
        load_before = os.getloadavg()[0]  # the machine may be shared: say how busy it was
        for size in self.scale.search_sizes:
            with self.engine.connect() as connection:
                have = connection.scalar(text("SELECT count(*) FROM comments"))
            if size > have:
                self.log(f"search: growing the forum to {size:,} comments")
                seed(
                    self.engine,
                    SeedPlan(
                        threads=max(1, (size - have) // 50),
                        comments=size - have,
                        boards=3,
                        seed=size,
                    ),
                )
                analyze(self.engine)
            refresh_until_fresh(self.engine)  # the first refresh fills the view
            elapsed, _ = timed(lambda: refresh_until_fresh(self.engine, force=True))
            with self.engine.connect() as connection:  # the workloads wrote some too
                size = connection.scalar(text("SELECT count(*) FROM comments"))
            results["sizes"].append(size)
            results["refresh_seconds"][str(size)] = round(elapsed / 1e6, 2)
            self.log(f"search at {size:,} comments: refresh {elapsed / 1e6:.1f}s")
            results["queries"][str(size)] = self._search_latency()
            results["headlines"][str(size)] = self._headline_share()
        results["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
        results["write_overhead"] = self._live_write_overhead(world)
        results["staleness"] = self._staleness(world)
        self.results["search"] = results

    def _search_latency(self) -> dict:
        """Each query on each form in turn, repeated after one untimed warm-up search (a
        deployment runs one form: alternating them would have each evict the other's pages
        from shared_buffers); with the statements each search sent."""
        out: dict = {}
        sent = [0]

        def count(*_args) -> None:
            sent[0] += 1

        event.listen(self.engine, "before_cursor_execute", count)
        try:
            for kind, q, page in self.SEARCHES:
                for form in ("live", "materialized"):
                    samples: list[float] = []
                    for repeat in range(self.scale.search_repeats + 1):
                        with events.CountedSession(self.engine) as session:
                            sent[0] = 0
                            elapsed, found = timed(
                                lambda q=q, f=form, p=page, s=session: search(
                                    s, q, form=f, page=p, timeout_ms=60_000
                                )
                            )
                            statements = sent[0]
                        if repeat:  # the first one warms the caches
                            samples.append(elapsed)
                    out.setdefault(kind, {})[form] = {
                        **summary(samples),
                        "total": found.total,
                        "bounded": found.bounded,
                        "shown": len(found.hits),
                        "statements": statements,
                    }
        finally:
            event.remove(self.engine, "before_cursor_execute", count)
        return out

    def _headline_share(self) -> dict:
        """The page statement with and without its headlines, alternating: what
        ``ts_headline`` on the page's 20 rows costs, per query and form."""
        out: dict = {}
        for kind, q, page in self.SEARCHES:
            for form in ("live", "materialized"):
                view = FORMS[form]
                with self.engine.connect() as connection:
                    estimate = connection.scalar(
                        text("SELECT search_estimate(:relation, :q)"),
                        {"relation": view.name, "q": q},
                    )
                samples: dict[bool, list[float]] = {True: [], False: []}
                for _ in range(self.scale.search_repeats):
                    for headlines in (True, False):
                        statement = ranked_page(view, False, page, *shape_for(estimate), headlines)
                        with events.CountedSession(self.engine) as session:
                            elapsed, _ = timed(
                                lambda s=session, st=statement, q=q: s.execute(st, {"q": q}).all()
                            )
                        samples[headlines].append(elapsed)
                with_, without = (statistics.median(samples[h]) for h in (True, False))
                out.setdefault(kind, {})[form] = {
                    "with_us": round(with_, 1),
                    "without_us": round(without, 1),
                    "share": round(max(0.0, with_ - without) / with_, 3) if with_ else None,
                }
        return out

    def _live_write_overhead(self, world: World) -> dict:
        """One INSERT per transaction into comments with, and without, the search column."""
        self.log("search: the live form's cost per write")
        samples: dict[str, list[float]] = {"with_search_column": [], "without": []}
        tables = {"with_search_column": "comments", "without": "peer_plain.comments"}
        raw = self.engine.raw_connection()
        try:
            with raw.cursor() as cursor:
                for _ in range(self.scale.writes):
                    for name, table in tables.items():
                        text_ = self._message()

                        def insert(t=table, m=text_):
                            cursor.execute(
                                f"INSERT INTO {t} (thread_id, author_id, message, "
                                "version) VALUES (%s, %s, %s, 1)",
                                (str(world.hot), world.author_id, m),
                            )
                            raw.commit()

                        elapsed, _ = timed(insert)
                        samples[name].append(elapsed)
        finally:
            raw.close()
        with self.engine.begin() as connection:  # those rows bypassed the counters on purpose
            self._repair_public(connection, {world.hot})
        out = {name: summary(values) for name, values in samples.items()}
        base = out["without"]["median_us"] or 1
        out["overhead_ratio"] = round(out["with_search_column"]["median_us"] / base, 2)
        return out

    def _repair_public(self, connection, thread_ids: set) -> None:
        for thread_id in thread_ids:
            messages = (
                connection.execute(select(Comment.message).where(Comment.thread_id == thread_id))
                .scalars()
                .all()
            )
            connection.execute(
                text("UPDATE threads SET word_count = :w, comment_count = :c WHERE id = :t"),
                {"w": sum(word_count(m) for m in messages), "c": len(messages), "t": thread_id},
            )
        connection.execute(
            text(
                "UPDATE boards SET comment_count = (SELECT count(*) FROM comments c JOIN threads t "
                "ON t.id = c.thread_id WHERE t.board_id = boards.id)"
            )
        )

    def _staleness(self, world: World) -> dict:
        """How long a comment stays out of the materialized view under a steady write load."""
        seconds = self.scale.staleness_seconds
        self.log(f"search: staleness of the materialized view under {seconds:.0f}s of writes")
        events.use("attribute")
        runner = BackgroundRunner(self.engine, debounce=1.0, safety_interval=0)
        runner.start()
        search_refresh.use(runner)
        with self.engine.connect() as connection:
            refreshes_before = connection.scalar(text("SELECT refreshes FROM search_refresh_state"))
        written: dict[uuid.UUID, float] = {}
        seen: dict[uuid.UUID, float] = {}
        stop_writing = time.monotonic() + seconds

        def write() -> None:
            while time.monotonic() < stop_writing:
                with Session(self.engine) as session:
                    comment = Comment(
                        thread=session.get(Thread, world.hot),
                        author_id=world.author_id,
                        message=self._message(),
                    )
                    session.add(comment)
                    session.commit()
                    written[comment.id] = time.monotonic()
                time.sleep(1 / self.scale.writes_per_second)

        writer = threading.Thread(target=write)
        writer.start()
        deadline = stop_writing + max(120.0, 3 * seconds)
        try:
            while time.monotonic() < deadline:
                pending = [cid for cid in list(written) if cid not in seen]
                if pending:
                    with self.engine.connect() as connection:
                        visible = (
                            connection.execute(
                                text(
                                    "SELECT doc_id FROM search_view_materialized "
                                    "WHERE doc_id = ANY(:ids)"
                                ),
                                {"ids": pending},
                            )
                            .scalars()
                            .all()
                        )
                    now = time.monotonic()
                    for cid in visible:
                        seen[cid] = now
                elif not writer.is_alive():
                    break
                time.sleep(0.1)
        finally:
            writer.join()
            runner.stop()
            search_refresh.use(None)
        with self.engine.connect() as connection:
            refreshes = connection.scalar(text("SELECT refreshes FROM search_refresh_state"))
        lags = [seen[cid] - written[cid] for cid in seen]
        return {
            "writes": len(written),
            "writes_per_second": self.scale.writes_per_second,
            "p50_s": round(percentile(lags, 0.5), 2),
            "p95_s": round(percentile(lags, 0.95), 2),
            "max_s": round(max(lags), 2) if lags else None,
            "unseen": len(written) - len(seen),
            "refreshes": refreshes - refreshes_before,
        }


def run_bench(engine: Engine, scale: Scale, log: Callable[[str], None]) -> dict:
    """Every workload on ``engine`` (a scratch database); returns the results."""
    previous = events.active()
    bench = Bench(engine, scale, log)
    try:
        world = bench.prepare()
        bench.write_latency(world)
        bench.statements(world)
        bench.batched(world)
        bench.concurrency(world)
        bench.read_path(world)
        bench.search(world)
    finally:
        if previous is not None:
            events.use(previous)
    return {
        "scale": scale.__dict__,
        "subjects": [
            {"name": s.name, "kind": s.kind, "summary": s.summary} for s in bench.subjects
        ],
        "workloads": bench.results,
    }


def run_search_bench(engine: Engine, scale: Scale, log: Callable[[str], None]) -> dict:
    """The search workload alone (``forum-bench --only search``): two threads of ten
    comments for its writes to go to, then the scale's search sizes."""
    previous = events.active()
    bench = Bench(engine, dataclasses.replace(scale, sizes=(10,), writers=(1,)), log)
    try:
        bench.search(bench.prepare())
    finally:
        if previous is not None:
            events.use(previous)
    return {"scale": scale.__dict__, "subjects": [], "workloads": bench.results}
