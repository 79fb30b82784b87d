"""Running the comparison: every subject, every workload, alternating, on a scratch database.

The workloads are one module each in ``forum.bench.workloads``; what they share
(scales, the seeded world, timing, rounds) is ``forum.bench.workbench``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from sqlalchemy import Engine

from .. import counting
from .workbench import SCALES, Scale
from .workloads import (
    Batched,
    Caching,
    Concurrency,
    ReadPath,
    Search,
    Statements,
    WriteLatency,
)

__all__ = ["SCALES", "Bench", "Scale", "run_bench", "run_cache_bench", "run_search_bench"]


class Bench(WriteLatency, Statements, Batched, Concurrency, ReadPath, Search, Caching):
    """Every workload on one workbench (the cache's runs on its own: ``--only cache``)."""


def run_bench(
    engine: Engine, scale: Scale, log: Callable[[str], None], *, search: bool = True
) -> dict:
    """Every workload on ``engine`` (a scratch database); returns the results.
    ``search=False`` (``--only counters``): the counters' workloads alone."""
    previous = counting.active()
    bench = Bench(engine, scale, log)
    try:
        world = bench.prepare()
        bench.write_latency(world)
        bench.statements(world)
        bench.batched(world)
        bench.concurrency(world)
        bench.read_path(world)
        if search:
            bench.search(world)
    finally:
        if previous is not None:
            counting.use(previous)
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
    previous = counting.active()
    bench = Bench(engine, dataclasses.replace(scale, sizes=(10,), writers=(1,)), log)
    try:
        bench.search(bench.prepare())
    finally:
        if previous is not None:
            counting.use(previous)
    return {"scale": scale.__dict__, "subjects": [], "workloads": bench.results}


def run_cache_bench(
    engine: Engine, scale: Scale, log: Callable[[str], None], app_settings: dict
) -> dict:
    """The read cache workload alone (``forum-bench --only cache``), on apps built from
    ``app_settings`` (the ini file's) pointed at ``engine``'s scratch database."""
    previous = counting.active()
    bench = Bench(engine, scale, log)
    bench.app_settings = app_settings
    try:
        bench.cache()
    finally:
        if previous is not None:
            counting.use(previous)
    return {"scale": scale.__dict__, "subjects": [], "workloads": bench.results}
