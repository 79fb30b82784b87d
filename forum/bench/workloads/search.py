"""Search: live against materialized latency (with statements per search and the
headlines' share), the live form's cost per write, refresh time and staleness."""

from __future__ import annotations

import os
import statistics
import threading
import time
import uuid
from contextlib import closing
from typing import Any

from sqlalchemy import event, text

from ... import counting
from ...models import Board, Comment, Thread, User
from ...reconcile import reconcile
from ...search import requests as search_refresh
from ...search.query import search, shape_for
from ...search.ranking import ranked_page
from ...search.refresh import refresh_until_fresh
from ...search.runners import BackgroundRunner
from ...search.views import FORMS
from ...seeding.corpus import BROAD_WORD, PHRASE, SELECTIVE_WORD
from ...seeding.load import SeedPlan, analyze, seed
from ..workbench import Workbench, World, percentile, summary, timed


class Search(Workbench):
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

        def count(*_args: Any) -> None:
            sent[0] += 1

        event.listen(self.engine, "before_cursor_execute", count)
        try:
            for kind, q, page in self.SEARCHES:
                for form in ("live", "materialized"):
                    samples: list[float] = []
                    found = None
                    statements = 0
                    for repeat in range(self.scale.search_repeats + 1):
                        with counting.CountedSession(self.engine) as session:
                            sent[0] = 0
                            elapsed, found = timed(
                                lambda q=q, f=form, p=page, s=session: search(
                                    s, q, form=f, page=p, timeout_ms=60_000
                                )
                            )
                            statements = sent[0]
                        if repeat:  # the first one warms the caches
                            samples.append(elapsed)
                    assert found is not None  # search_repeats >= 0: one search at least
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
                        with counting.CountedSession(self.engine) as session:
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
            with closing(raw.cursor()) as cursor:
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
        """``forum-reconcile --fix`` on the threads written around the counters, and on
        every board and user."""
        reconcile(connection, fix=True, only={Thread: thread_ids, Board: None, User: None})

    def _staleness(self, world: World) -> dict:
        """How long a comment stays out of the materialized view under a steady write load."""
        seconds = self.scale.staleness_seconds
        self.log(f"search: staleness of the materialized view under {seconds:.0f}s of writes")
        counting.use("attribute")
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
                with counting.CountedSession(self.engine) as session:
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
