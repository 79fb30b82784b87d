"""``forum-bench --only parallel``: parallel-report.md and parallel-report.json.

Serial against parallel page reads (``forum.parallel_queries``), as ratios within
one run, and the verdict the default follows: parallel wins a page when its
median is lower by more than the noise margin, and throughput does not drop.
"""

from __future__ import annotations

from pathlib import Path

from .markdown import machine_section, made_by, table, write_report_files

#: Below this difference of medians a page is a draw (a shared 2-core machine).
MARGIN = 0.05


def _ms(value_us: float | None) -> str:
    return "n/a" if value_us is None else f"{value_us / 1000:,.2f} ms"


def _change(ratio: float) -> str:
    """A parallel/serial ratio in words: 0.8 is "20% faster", 1.25 "25% slower"."""
    if abs(ratio - 1) < MARGIN:
        return f"a draw ({ratio:.2f}×)"
    if ratio < 1:
        return f"{1 - ratio:.0%} faster ({ratio:.2f}×)"
    return f"{ratio - 1:.0%} slower ({ratio:.2f}×)"


def verdict(parallel: dict) -> list[str]:
    """Which pages parallel reads win, by how much, and what the default therefore is."""
    wins = [p for p, r in parallel["latency"].items() if r["ratio"] <= 1 - MARGIN]
    throughput = parallel["throughput"]
    worst = min(r["ratio"] for r in throughput.values())
    lines = []
    if wins and worst >= 1 - MARGIN:
        lines.append(
            f"Parallel reads win on {', '.join(wins)} without costing throughput "
            f"(worst throughput ratio {worst:.2f}×)."
        )
    elif wins:
        lines.append(
            f"Parallel reads lower the single-client latency of {', '.join(wins)}, but cost "
            f"throughput under load (down to {worst:.2f}× the serial requests per second): "
            "they spend more CPU per request on the same cores."
        )
    else:
        lines.append(
            "Parallel reads win on no page here: each page's reads are a few milliseconds "
            "of indexed lookups, and the handoff to other threads and connections costs as "
            "much as it saves."
        )
    return lines


def parallel_tables(parallel: dict) -> list[str]:
    rows = [
        [
            page,
            f"{_ms(r['serial']['median_us'])} / {_ms(r['serial']['p95_us'])}",
            f"{_ms(r['parallel']['median_us'])} / {_ms(r['parallel']['p95_us'])}",
            _change(r["ratio"]),
        ]
        for page, r in parallel["latency"].items()
    ]
    lines = [
        "### One client: latency of a whole request",
        "",
        *table(["page", "serial (median / p95)", "parallel (median / p95)", "parallel"], rows),
        "### Several clients: requests per second (best turn)",
        "",
    ]
    rows = [
        [
            clients,
            f"{r['serial_rps']:,.1f}",
            f"{r['parallel_rps']:,.1f}",
            f"{r['ratio']:.2f}×",
        ]
        for clients, r in parallel["throughput"].items()
    ]
    lines += table(["clients", "serial", "parallel", "parallel / serial"], rows)
    return lines


def write_parallel_report(result: dict, out: Path) -> list[Path]:
    """``parallel-report.json`` and ``parallel-report.md`` in ``out``; the files written."""
    parallel = result["workloads"]["parallel"]
    lines = [
        "# forum-bench report: parallel independent reads",
        "",
        made_by(result),
        "",
        f"A forum of {parallel['comments']:,} comments on {parallel['boards']} boards; the "
        f"thread pages are those of its {parallel['hot_thread']:,}-comment thread. Two apps "
        "built from the same ini settings (without the debug toolbar), one with "
        "`forum.parallel_queries = false`, one with `true` "
        f"(`forum.parallel_workers = {parallel['workers']}`), answer the same pages in "
        "shuffled turns, as whole requests through the WSGI app (routing, reads, "
        "rendering; no HTTP server). The board index reads the boards, the latest threads "
        "and the totals; a thread page reads its header and its page of comments. "
        f"{parallel['cores']} cores, load average {parallel['load_average'][0]} before and "
        f"{parallel['load_average'][1]} after: compare the ratios, not the absolute times.",
        "",
        "## Verdict",
        "",
        *verdict(parallel),
        "",
        "## Figures",
        "",
        *parallel_tables(parallel),
        *machine_section(result),
    ]
    return write_report_files(out, "parallel-report", result, lines)
