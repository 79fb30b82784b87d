"""Concurrent writers: throughput, retries, and the drift each subject leaves behind."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from ...models import Board, Thread
from ...reconcile import reconcile
from ..subjects import Subject
from ..workbench import Workbench, World, percentile, timed


class Concurrency(Workbench):
    # --- 4. concurrent writers -----------------------------------------------------------

    def concurrency(self, world: World) -> None:
        # The naive recipes left wrong counters behind in the earlier workloads:
        # start exact, so any drift below is the subject's own.
        for subject in self.subjects:
            self._drift(subject, {world.target, world.hot, *world.spread})
        # The strategies again with forum.counter_apply = commit, interleaved with the rest.
        candidates = [*self.subjects, *self.commit_subjects]
        results: dict = {"hot": {}, "spread": {}}
        for writers in self.scale.writers:
            for target in ("hot", "spread"):
                self.log(f"concurrency: {writers} writer(s), {target}")
                order = [
                    s
                    for s in candidates
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
        """Counters of ``thread_ids`` (and of every board) that differ from the truth, by
        ``forum-reconcile``'s own check; then repaired, so the next subject starts exact. A
        subject that keeps no counters (orm_bare, on the forum's own tables) is repaired
        after too, and counted as 0; a naive recipe keeps no board counters."""
        if not subject.keeps_counters and subject.schema != "public":
            return 0  # its own tables, without counter columns to repair
        with self.engine.connect() as connection:
            if subject.schema != "public":  # a peer's copy of the tables
                connection = connection.execution_options(
                    schema_translate_map={None: subject.schema}
                )
            report = reconcile(connection, fix=True, only={Thread: thread_ids, Board: None})
        kinds = {"thread"} if subject.kind == "naive" else {"thread", "board"}
        drifted = sum(d.kind in kinds for d in report.drift)
        return drifted if subject.keeps_counters else 0
