"""The benchmark's plots: every line is labelled with the subject whose data it draws.

Built from a small hand-made report whose subjects come in a different order
in each panel, as they do in a real run (dicts keep the order results arrive).
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.colors import to_hex

from forum.bench.report import build_figures, subject_colours, write_report

SUBJECTS = ["attribute", "before_flush", "floor", "compute_on_read", "naive_after_insert"]
WRITERS = [1, 2, 4]


def throughput(name: str, writers: int, target: str) -> float:
    """A distinct number per subject, writers and panel, so a swapped label shows."""
    return 100.0 * (SUBJECTS.index(name) + 1) + writers + (0.5 if target == "spread" else 0.0)


def small_report() -> dict:
    def panel(target: str, order: list[str]) -> dict:
        return {
            name: {
                str(n): {"throughput": throughput(name, n, target)}
                for n in WRITERS
                if not (name.startswith("naive") and n > 2)
            }
            for name in order
        }

    return {
        "subjects": [{"name": n} for n in SUBJECTS],
        "workloads": {
            "write_latency": {
                "sizes": [10, 1000],
                "results": {
                    name: {
                        str(size): {"median_us": (SUBJECTS.index(name) + 1) * size}
                        for size in (10, 1000)
                    }
                    for name in reversed(SUBJECTS)
                },
            },
            "concurrency": {
                "writers": WRITERS,
                "results": {
                    "hot": panel("hot", ["compute_on_read", "attribute", "floor",
                                         "naive_after_insert", "before_flush"]),
                    "spread": panel("spread", ["naive_after_insert", "before_flush",
                                               "attribute", "compute_on_read", "floor"]),
                },
            },
            "statements": {
                "operations": ["create", "edit"],
                "results": {name: {"create": 2, "edit": 3} for name in SUBJECTS},
            },
        },
    }  # fmt: skip


def test_every_throughput_line_is_labelled_with_its_own_data():
    report = small_report()
    colours = subject_colours(report)
    figure = build_figures(report)["throughput"]
    for ax, target in zip(figure.axes[:2], ("hot", "spread"), strict=True):
        lines = ax.get_lines()
        assert sorted(line.get_label() for line in lines) == sorted(SUBJECTS)
        for line in lines:
            name = line.get_label()
            xs = list(line.get_xdata())
            assert list(line.get_ydata()) == [throughput(name, n, target) for n in xs]
            assert to_hex(line.get_color()) == colours[name]


def test_one_legend_whose_colours_match_the_lines_in_every_panel():
    report = small_report()
    figure = build_figures(report)["throughput"]
    assert not any(ax.get_legend() for ax in figure.axes)
    (legend,) = figure.legends
    entries = {
        text.get_text(): to_hex(handle.get_color())
        for text, handle in zip(legend.get_texts(), legend.legend_handles, strict=True)
    }
    assert list(entries) == SUBJECTS  # every subject once, in the report's order
    for ax in figure.axes[:2]:
        for line in ax.get_lines():
            assert to_hex(line.get_color()) == entries[line.get_label()]


def test_a_subject_keeps_its_colour_across_plots():
    report = small_report()
    figures = build_figures(report)
    latency = {
        line.get_label(): to_hex(line.get_color())
        for line in figures["latency"].axes[0].get_lines()
    }
    for line in figures["latency"].axes[0].get_lines():
        name = line.get_label()
        sizes = list(line.get_xdata())
        assert list(line.get_ydata()) == [(SUBJECTS.index(name) + 1) * s for s in sizes]
    for ax in figures["throughput"].axes[:2]:
        for line in ax.get_lines():
            assert latency[line.get_label()] == to_hex(line.get_color())


def test_write_report_numbers_its_sections_once_each(tmp_path: Path):
    import re

    report = small_report()
    w = report["workloads"]
    for cell in [
        *w["concurrency"]["results"]["hot"].values(),
        *w["concurrency"]["results"]["spread"].values(),
    ]:
        for value in cell.values():
            value.update(p95_ms=1, retries=0, drift=0)
    for by_size in w["write_latency"]["results"].values():
        for cell in by_size.values():
            cell["p95_us"] = cell["median_us"]
    report.update(
        command="forum-bench", generated_at="today", seconds=1,
        scale={"name": "tiny"},
        machine={"cpu": "x", "cores": 1, "memory_gib": 1, "os": "x", "python": "3",
                 "postgresql": "16", "postgresql_settings": {}, "packages": {}},
    )  # fmt: skip
    report["subjects"] = [{"name": n, "kind": "k", "summary": "s"} for n in SUBJECTS]
    w["concurrency"]["ops_per_writer"] = 1
    w["statements"]["thread_size"] = 10
    w["batched"] = {
        "batch": 1,
        "results": {"floor": {"median_us": 1, "per_comment_us": 1, "statements": 1}},
    }
    w["read_path"] = {
        "thread_size": 1,
        "results": {"counter_columns": {"median_us": 1, "p95_us": 1}},
    }
    write_report(report, tmp_path)
    numbers = re.findall(r"^## (\d+)\.", (tmp_path / "report.md").read_text(), re.MULTILINE)
    assert numbers == [str(n) for n in range(1, len(numbers) + 1)]
