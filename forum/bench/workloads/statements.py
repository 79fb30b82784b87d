"""Statements per operation: what each subject sends to the database for one write."""

from __future__ import annotations

from ..workbench import Workbench, World


class Statements(Workbench):
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
