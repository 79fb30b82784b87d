"""The benchmark's workloads, one module each; forum.bench.run runs them in this order."""

from __future__ import annotations

from .batched import Batched
from .cache import Caching
from .concurrency import Concurrency
from .read_path import ReadPath
from .search import Search
from .statements import Statements
from .write_latency import WriteLatency

__all__ = ["Batched", "Caching", "Concurrency", "ReadPath", "Search", "Statements", "WriteLatency"]
