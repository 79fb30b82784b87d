"""Batched writes: many comments in one transaction."""

from __future__ import annotations

import statistics

from ..workbench import Workbench, World, summary, timed


class Batched(Workbench):
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
