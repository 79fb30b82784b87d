"""The read path: showing a big thread, with its counters or computed on read."""

from __future__ import annotations

from contextlib import closing

from ..workbench import Workbench, World, summary, timed


class ReadPath(Workbench):
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
            with closing(raw.cursor()) as cursor:
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
