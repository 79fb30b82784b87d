"""Parallel independent reads (``forum.parallel_queries``): is it worth it, on our data?

Two apps built from the same ini settings, one serial and one parallel, answer
the same pages in shuffled turns (so a busy moment of the machine falls on both
alike): the board index, and the first, a middle and the last page of the
100,000-comment thread, in a forum of 1,000,000 comments. Each is timed as a
whole request (routing, reads, rendering), single-client latency first, then
throughput with several clients at once, where parallel reads compete for the
same cores. Ratios are within one run: the machine may be shared.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select, text
from webob import Request

from ...models import Comment
from ...pagination import encode_cursor
from ...seeding.load import SeedPlan, analyze, seed
from ..workbench import Workbench, summary, timed


@dataclass(frozen=True)
class ParallelScale:
    comments: int  # the whole forum
    hot: int  # the long thread's comments
    thread_size: int  # every other thread's
    boards: int
    repeats: int  # timed requests per page and mode
    clients: tuple[int, ...]
    seconds: float  # per throughput turn
    turns: int  # throughput turns per mode and client count


PARALLEL_SCALES = {
    "full": ParallelScale(1_000_000, 100_000, 50, 20, 200, (1, 4, 8), 4.0, 3),
    "quick": ParallelScale(100_000, 10_000, 50, 10, 40, (1, 4), 2.0, 2),
    "tiny": ParallelScale(2_000, 500, 50, 3, 4, (1, 2), 0.3, 1),
}

MODES = ("serial", "parallel")


@contextmanager
def database_url(url: str) -> Iterator[None]:
    """Point apps built meanwhile at ``url`` (FORUM_DATABASE_URL wins over the ini)."""
    before = os.environ.get("FORUM_DATABASE_URL")
    os.environ["FORUM_DATABASE_URL"] = url
    try:
        yield
    finally:
        if before is None:
            del os.environ["FORUM_DATABASE_URL"]
        else:
            os.environ["FORUM_DATABASE_URL"] = before


def get(app: Callable, path: str) -> int:
    response = Request.blank(path).get_response(app)
    if response.status_int != 200:
        raise RuntimeError(f"{path} answered {response.status}")
    return len(response.body)


class Parallel(Workbench):
    # --- parallel independent reads -------------------------------------------------------

    def parallel(self, settings: dict[str, Any], build: Callable[..., Callable]) -> None:
        """``settings`` are the ini's (strings); ``build`` is ``forum.main``."""
        scale = PARALLEL_SCALES[self.scale.name]
        hot = self._parallel_forum(scale)
        pages = self._pages(hot)
        base = {k: v for k, v in settings.items() if k != "pyramid.includes"}  # no toolbar
        apps: dict[str, Any] = {}  # WSGI apps with their Pyramid registry
        with database_url(self.engine.url.render_as_string(hide_password=False)):
            for mode in MODES:
                flag = {"forum.parallel_queries": str(mode == "parallel").lower()}
                apps[mode] = build({}, **{**base, **flag})
        try:
            results: dict = {
                "comments": scale.comments,
                "hot_thread": scale.hot,
                "boards": scale.boards,
                "workers": apps["parallel"].registry["parallel_reader"].workers,
                "cores": os.cpu_count(),
                "load_average": [round(os.getloadavg()[0], 2)],
            }
            results["latency"] = self._page_latency(apps, pages, scale.repeats)
            results["throughput"] = self._throughput(apps, pages, scale)
            results["load_average"].append(round(os.getloadavg()[0], 2))
        finally:
            for app in apps.values():
                reader = app.registry["parallel_reader"]
                if reader is not None:
                    reader.close()
                app.registry["dbengine"].dispose()
        self.results["parallel"] = results

    def _parallel_forum(self, scale: ParallelScale) -> str:
        """The long thread among threads of ``thread_size`` comments; the long one's id."""
        others = (scale.comments - scale.hot) // scale.thread_size
        sizes = (scale.hot, *[scale.thread_size] * others)
        self.log(f"parallel: seeding {sum(sizes):,} comments in {len(sizes):,} threads")
        report = seed(
            self.engine,
            SeedPlan(
                threads=len(sizes), comments=sum(sizes), boards=scale.boards, sizes=sizes, seed=9
            ),
        )
        analyze(self.engine)
        return str(report.thread_ids[0])

    def _pages(self, hot: str) -> dict[str, str]:
        with self.engine.connect() as connection:
            total = connection.scalar(
                text("SELECT comment_count FROM threads WHERE id = :t"), {"t": hot}
            )
            middle = connection.execute(
                select(Comment.created_at, Comment.id)
                .where(Comment.thread_id == hot)
                .order_by(Comment.created_at, Comment.id)
                .offset((total or 0) // 2)
                .limit(1)
            ).one()
        return {
            "board index": "/",
            "thread, first page": f"/t/{hot}",
            "thread, middle page": f"/t/{hot}?at={encode_cursor((middle[0], middle[1]))}",
            "thread, last page": f"/t/{hot}?last=1",
        }

    def _page_latency(self, apps: dict[str, Callable], pages: dict[str, str], repeats: int):
        samples: dict[str, dict[str, list[float]]] = {p: {m: [] for m in MODES} for p in pages}
        sizes: dict[str, dict[str, int]] = {p: {} for p in pages}
        for mode in MODES:  # warm-up: connections made, pages in shared_buffers
            for path in pages.values():
                get(apps[mode], path)
        self.log(f"parallel: page latency, {repeats} requests per page and mode")
        for _ in range(repeats):
            for page, path in pages.items():
                order = list(MODES)
                self.rng.shuffle(order)
                for mode in order:
                    elapsed, size = timed(lambda m=mode, p=path: get(apps[m], p))
                    samples[page][mode].append(elapsed)
                    sizes[page][mode] = size
        out = {}
        for page in pages:
            if sizes[page]["serial"] != sizes[page]["parallel"]:
                raise RuntimeError(f"{page}: the parallel page differs from the serial one")
            serial, parallel = (summary(samples[page][m]) for m in MODES)
            out[page] = {
                "serial": serial,
                "parallel": parallel,
                "ratio": round(parallel["median_us"] / serial["median_us"], 3),
            }
        return out

    def _throughput(self, apps: dict[str, Callable], pages: dict[str, str], scale):
        """Requests per second with N clients at once, each cycling through the pages."""
        out: dict = {}
        paths = list(pages.values())
        for clients in scale.clients:
            rates: dict[str, list[float]] = {m: [] for m in MODES}
            for _ in range(scale.turns):
                order = list(MODES)
                self.rng.shuffle(order)
                for mode in order:
                    rates[mode].append(self._turn(apps[mode], paths, clients, scale.seconds))
            best = {m: max(r) for m, r in rates.items()}
            out[str(clients)] = {
                "serial_rps": round(best["serial"], 1),
                "parallel_rps": round(best["parallel"], 1),
                "ratio": round(best["parallel"] / best["serial"], 3),
            }
            self.log(
                f"parallel: {clients} clients: serial {best['serial']:.1f} req/s, "
                f"parallel {best['parallel']:.1f} req/s"
            )
        return out

    @staticmethod
    def _turn(app: Callable, paths: list[str], clients: int, seconds: float) -> float:
        done = [0] * clients
        errors: list[BaseException] = []
        stop = time.monotonic() + seconds

        def client(n: int) -> None:
            try:
                i = n
                while time.monotonic() < stop:
                    get(app, paths[i % len(paths)])
                    done[n] += 1
                    i += 1
            except BaseException as error:  # reported below, never lost
                errors.append(error)

        started = time.monotonic()
        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        return sum(done) / (time.monotonic() - started)


def run_parallel_bench(
    engine: Engine,
    scale_name: str,
    log: Callable[[str], None],
    settings: dict[str, Any],
    build: Callable[..., Callable],
) -> dict:
    """``forum-bench --only parallel``: the parallel workload alone, on a fresh forum."""
    from ..workbench import SCALES

    bench = Parallel(engine, SCALES[scale_name], log)
    bench.parallel(settings, build)
    scale = {"name": scale_name, **PARALLEL_SCALES[scale_name].__dict__}
    return {"scale": scale, "subjects": [], "workloads": bench.results}
