"""Write latency against thread size: one comment written, edited, moved, deleted."""

from __future__ import annotations

from ..workbench import Workbench, World, summary, timed


class WriteLatency(Workbench):
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
