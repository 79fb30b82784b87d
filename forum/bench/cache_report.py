"""``forum-bench --only cache``: cache-report.md and cache-report.json.

Every figure is one the run measured; the ratios are computed from medians of
the same run (the machine may be shared: compare within a run, not across).
"""

from __future__ import annotations

from pathlib import Path

from .markdown import load_lines, machine_section, made_by, table, write_report_files

BACKEND_NAMES = {"none": "uncached", "memory": "memory", "redis": "Redis"}


def _ms(cell: dict | None) -> str:
    if not cell or cell.get("median_us") is None:
        return "n/a"
    return f"{cell['median_us'] / 1000:,.2f} / {cell['p95_us'] / 1000:,.2f} ms"


def _ratio(base: dict | None, other: dict | None) -> str:
    if not base or not other or not other.get("median_us"):
        return "n/a"
    return f"{base['median_us'] / other['median_us']:.1f}×"


def cache_tables(cache: dict) -> list[str]:
    """Latency (hit, miss), speed-up, throughput and the write's cost, per backend."""
    backends = list(cache["backends"])
    cached = [b for b in backends if b != "none"]
    latency = cache["latency"]
    lines = [
        "### Latency of a page (median / p95)",
        "",
        "A request through the whole app (routing, queries or cache, template), "
        "anonymous. *Hit*: the page was read before. *Miss*: its scopes were just "
        "given new generations, as a write does, so the request reads the database "
        "and stores the result.",
        "",
    ]
    header = ["page", "uncached"]
    for b in cached:
        header += [f"{BACKEND_NAMES[b]} hit", f"{BACKEND_NAMES[b]} miss"]
    rows = []
    for page, cells in latency.items():
        row = [page, _ms(cells.get("none", {}).get("read"))]
        for b in cached:
            row += [_ms(cells[b].get("hit")), _ms(cells[b].get("miss"))]
        rows.append(row)
    lines += table(header, rows)

    lines += [
        "### Speed-up against uncached (ratio of medians)",
        "",
        "Above 1× the cached request is faster; a miss pays for the generation read, "
        "the lookup and the store on top of the queries.",
        "",
    ]
    rows = []
    for page, cells in latency.items():
        base = cells.get("none", {}).get("read")
        row = [page]
        for b in cached:
            row += [_ratio(base, cells[b].get("hit")), _ratio(base, cells[b].get("miss"))]
        rows.append(row)
    header = ["page"]
    for b in cached:
        header += [f"{BACKEND_NAMES[b]} hit", f"{BACKEND_NAMES[b]} miss"]
    lines += table(header, rows)

    throughput = cache["throughput"]
    readers = next(iter(next(iter(throughput.values())).values()))["requests"]
    lines += [
        "### Throughput (pages per second, readers in threads of one process)",
        "",
        f"Four readers, {readers} requests in all per cell, hits when cached. One "
        "process: Python's GIL caps what threads add, so the ratios matter more than "
        "the totals.",
        "",
    ]
    rows = []
    for page in latency:  # the latency tables' order
        cells = throughput[page]
        base = cells.get("none", {}).get("pages_per_second")
        row = [page]
        for b in backends:
            value = cells[b]["pages_per_second"]
            extra = f" ({value / base:.1f}×)" if base and b != "none" else ""
            row.append(f"{value:,.0f}{extra}")
        rows.append(row)
    lines += table(["page", *(BACKEND_NAMES[b] for b in backends)], rows)

    writes = cache["writes"]
    base = writes.get("none", {})
    lines += [
        "### What invalidation adds to a write",
        "",
        "One comment per transaction through the app's session factory (the thread "
        "loaded with its board, as a reply's route does, the comment added, the "
        "commit): with a cache, the flush also notes the stale scopes and the commit "
        "renews their generations (one round trip to the cache for all of them).",
        "",
    ]
    rows = []
    for b in backends:
        cell = writes[b]
        added = ""
        if b != "none" and base.get("median_us") and cell.get("median_us"):
            added = f"{(cell['median_us'] - base['median_us']) / 1000:+,.2f} ms"
        rows.append([BACKEND_NAMES[b], _ms(cell), str(cell["statements"]), added or "—"])
    lines += table(
        ["backend", "write (median / p95)", "SQL statements", "added to the median"], rows
    )
    lines += [
        f"Threads whose comment counter disagreed with their comments afterwards: "
        f"{writes['drifted_threads']}.",
        "",
    ]
    return lines


def write_cache_report(result: dict, out: Path) -> list[Path]:
    """``cache-report.json`` and ``cache-report.md`` in ``out``; the files written."""
    cache = result["workloads"]["cache"]
    forum = cache["forum"]
    lines = [
        "# forum-bench report: the read cache",
        "",
        made_by(
            result, "The strategy comparison is in `report.md`; this run measured the cache alone."
        ),
        "",
        f"The forum: {forum['comments']:,} comments in {forum['threads']:,} threads on "
        f"{forum['boards']} boards; the board page is a board of "
        f"{forum['board_threads']:,} threads, the thread page the first page of a thread "
        f"of {forum['thread_comments']:,} comments.",
        "",
        "Backends: "
        + "; ".join(f"{BACKEND_NAMES[b]}: {text}" for b, text in cache["backends"].items())
        + ".",
        "",
    ]
    if cache.get("skipped"):
        lines += [f"Not measured: {cache['skipped']}.", ""]
    lines += [*machine_section(result), "## The read cache", "", *cache_tables(cache)]
    lines += load_lines(cache, "the workload")
    return write_report_files(out, "cache-report", result, lines)
