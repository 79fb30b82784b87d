"""forum-bench's report: report.json (everything), report.md (tables), and PNG plots.

Every timing in report.md is also shown as a ratio to the raw driver floor
(psycopg2 issuing the same INSERT and UPDATE ... SET x = x + n), so a reader
sees what each strategy costs on top of the least work that keeps the counts,
and to ``orm_bare`` (the same ORM operations with no counters kept), so what
the ORM costs and what the counters cost are told apart.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no screen
import matplotlib.pyplot as plt

from .markdown import machine_section, made_by, table, write_report_files
from .search_report import search_tables

FLOOR = "floor"
ORM_BARE = "orm_bare"
PLOTS = {
    "latency": "latency_vs_thread_size.png",
    "throughput": "throughput_vs_writers.png",
    "statements": "statements_per_operation.png",
    "search": "search_latency.png",
}


def _ratio(value: float | None, floor: float | None) -> str:
    if value is None or not floor:
        return ""
    return f" ({value / floor:.2f}×)"


def _ratios(value: float | None, floor: float | None, bare: float | None) -> str:
    """`` (3.65× floor, 1.21× orm_bare)``: both yardsticks, whichever are known."""
    parts = [
        f"{value / base:.2f}× {name}"
        for name, base in ((FLOOR, floor), (ORM_BARE, bare))
        if value is not None and base
    ]
    return f" ({', '.join(parts)})" if parts else ""


def _with_extra(order: list[str], data: dict) -> list[str]:
    """``order``, then the subjects only this workload ran (the strategies with
    forum.counter_apply = commit), in the order they appear."""
    return [*order, *(name for name in data if name not in order)]


def _contention(concurrency: dict, order: list[str]) -> list[str]:
    """Hot-thread throughput as a share of the same subject's spread throughput."""
    hot, spread = concurrency["results"]["hot"], concurrency["results"]["spread"]
    writers = concurrency["writers"]
    rows = []
    for name in _with_extra(order, hot):
        cells = []
        for n in writers:
            h = hot.get(name, {}).get(str(n), {}).get("throughput")
            s = spread.get(name, {}).get(str(n), {}).get("throughput")
            cells.append(f"{h / s:.2f}" if h and s else "—")
        rows.append([name, *cells])
    return [
        "What one hot row costs: throughput with every writer on one thread, divided by",
        "the same subject's with each writer on its own thread (1.00 = no contention).",
        "",
        *table(["subject", *[f"{n} writer{'s' if n > 1 else ''}" for n in writers]], rows),
    ]


def _us(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value / 1000:,.1f} ms" if value >= 10_000 else f"{value:,.0f} µs"


def write_report(result: dict, out: Path) -> list[Path]:
    """Write report.json, report.md and the plots into ``out``; return the files written."""
    return _write(result, out, "report")


def write_counters_report(result: dict, out: Path) -> list[Path]:
    """``--only counters``: counters-report.json, counters-report.md and its plots
    (named ``counters-...png``) into ``out``, beside the full report."""
    note = (
        "The full comparison, search included, is in `report.md`; this run measured the "
        "counters' workloads alone."
    )
    return _write(result, out, "counters-report", note, plot_prefix="counters-")


def _write(result: dict, out: Path, stem: str, note: str = "", plot_prefix: str = "") -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    files = _plots(result, out, plot_prefix)
    result = {**result, "plots": [f.name for f in files]}
    return [*write_report_files(out, stem, result, _markdown(result, note)), *files]


def _markdown(result: dict, note: str = "") -> list[str]:
    w = result["workloads"]
    order = [s["name"] for s in result["subjects"]]
    lines = [
        "# forum-bench report" + (": the counters' workloads" if note else ""),
        "",
        made_by(result, note),
        "",
        *machine_section(result),
        "## Subjects",
        "",
        *table(
            ["subject", "kind", "what it is"],
            [[s["name"], s["kind"], s["summary"]] for s in result["subjects"]],
        ),
        "Timings are wall-clock per transaction (begin to commit), as a request sees",
        "them; each is also given as a ratio to the raw driver floor and to orm_bare",
        "(the same ORM operations with no counters kept: the ratio to it is what the",
        "counters cost, the rest is the ORM's). The naive",
        "recipes run only on threads of up to 1,000 comments (they load the thread).",
        "",
    ]

    latency = w["write_latency"]
    sizes = latency["sizes"]
    floor = latency["results"].get(FLOOR, {})
    bare = latency["results"].get(ORM_BARE, {})
    lines += [
        "## 1. Write latency against thread size",
        "",
        "One comment added per transaction; median (p95) per size, and how much slower "
        "the largest size is than the smallest (1.0 = constant work).",
        "",
    ]
    rows = []
    for name, by_size in latency["results"].items():
        row = [name]
        for size in sizes:
            cell = by_size.get(str(size))
            base = floor.get(str(size), {}).get("median_us")
            bare_base = bare.get(str(size), {}).get("median_us")
            row.append(
                "—"
                if cell is None
                else f"{_us(cell['median_us'])}{_ratios(cell['median_us'], base, bare_base)} "
                f"(p95 {_us(cell['p95_us'])})"
            )
        row.append(f"{by_size.get('growth')}" if by_size.get("growth") else "")
        rows.append(row)
    lines += table(["subject", *[f"{s:,} comments" for s in sizes], "largest ÷ smallest"], rows)

    statements = w["statements"]
    ops = statements["operations"]
    floor_ops = statements["results"].get(FLOOR, {})
    lines += [
        "## 2. Statements per operation",
        "",
        f"SQL statements each operation sent, on a thread of "
        f"{statements['thread_size']:,} comments (the trigger peer's own UPDATEs run "
        "inside the server and are not counted).",
        "",
    ]
    lines += table(
        ["subject", *ops],
        [
            [name, *[f"{counts[o]}{_ratio(counts[o], floor_ops.get(o))}" for o in ops]]
            for name, counts in statements["results"].items()
        ],
    )

    batched = w["batched"]
    floor_batch = batched["results"].get(FLOOR, {}).get("median_us")
    bare_batch = batched["results"].get(ORM_BARE, {}).get("median_us")
    lines += [
        "## 3. Batched writes",
        "",
        f"{batched['batch']} comments to one thread in one transaction.",
        "",
    ]
    lines += table(
        ["subject", "transaction", "per comment", "statements"],
        [
            [
                name,
                f"{_us(r['median_us'])}{_ratios(r['median_us'], floor_batch, bare_batch)}",
                _us(r["per_comment_us"]),
                str(r["statements"]),
            ]
            for name, r in batched["results"].items()
        ],
    )

    concurrency = w["concurrency"]
    writers = concurrency["writers"]
    for number, target, label in (
        (4, "hot", "all writers on one hot thread"),
        (5, "spread", "each writer on its own thread"),
    ):
        data = concurrency["results"][target]
        floor_c = data.get(FLOOR, {})
        bare_c = data.get(ORM_BARE, {})
        lines += [
            f"## {number}. Concurrent writers: {label}",
            "",
            f"{concurrency['ops_per_writer']} comments per writer; throughput in comments "
            "per second (× floor, × orm_bare), p95 latency, retries taken, counters drifted "
            "afterwards "
            "(must be 0).",
            "",
        ]
        rows = []
        for name in _with_extra(order, data):
            by_writers = data[name]
            row = [name]
            for n in writers:
                cell = by_writers.get(str(n))
                if cell is None:  # a naive recipe, not run with this many writers
                    row.append("—")
                    continue
                base = floor_c.get(str(n), {}).get("throughput")
                bare_base = bare_c.get(str(n), {}).get("throughput")
                row.append(
                    f"{cell['throughput']:,.0f}/s{_ratios(cell['throughput'], base, bare_base)}, "
                    f"p95 {cell['p95_ms']} ms, retries {cell['retries']}, "
                    f"drift {cell['drift']}"
                )
            rows.append(row)
        lines += table(["subject", *[f"{n} writer{'s' if n > 1 else ''}" for n in writers]], rows)
    lines += _contention(concurrency, order)

    read = w["read_path"]
    base = read["results"]["counter_columns"]["median_us"]
    lines += [
        "## 6. Read path",
        "",
        f"A thread header's counts at {read['thread_size']:,} comments: read from the "
        "counter columns, or computed with COUNT/SUM at read time.",
        "",
    ]
    lines += table(
        ["how", "median", "p95"],
        [
            [name, f"{_us(r['median_us'])}{_ratio(r['median_us'], base)}", _us(r["p95_us"])]
            for name, r in read["results"].items()
        ],
    )

    search = w.get("search")
    if search:
        lines += [
            "## 7. Search",
            "",
            "Query latency (median, p95) with headlines, for the live view and the "
            "materialized view; the matches found; the refresh a materialized view needs "
            "at each size.",
            "",
        ]
        lines += search_tables(search)

    lines += ["## Plots", ""]
    for name in result.get("plots", []):
        lines += [f"![{name}]({name})", ""]
    return lines


#: One colour per subject, the same in every panel of every plot (matplotlib's
#: tab10 holds ten; the subjects are nine, in the report's subject order).
PALETTE = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    "#393b79", "#637939", "#8c6d31",
]  # fmt: skip


def subject_colours(result: dict) -> dict[str, str]:
    """Each subject's colour, fixed by its place in the report's subject list.

    Every plot takes its colours from here rather than from matplotlib's cycle,
    whose order depends on the order lines are drawn in (which differs per panel).
    """
    names = [s["name"] for s in result["subjects"]]
    for by_subject in (
        result.get("workloads", {}).get("concurrency", {}).get("results", {}).values()
    ):
        names += [name for name in by_subject if name not in names]  # the (commit) subjects
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}


def _ordered(result: dict, by_subject: dict) -> list[str]:
    """The subjects present in ``by_subject``, in the report's subject order."""
    order = [s["name"] for s in result["subjects"]]
    return [n for n in order if n in by_subject] + [n for n in by_subject if n not in order]


def _subject_legend(fig, names: list[str], colours: dict[str, str]) -> None:
    """One legend for the whole figure, built from the colours, not from one panel's lines."""
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=colours[n], marker="o", label=n) for n in names]
    fig.legend(handles=handles, loc="outside right center", fontsize=8)


def build_figures(result: dict) -> dict[str, object]:
    """The report's figures by plot key (``latency``, ``throughput``, ...), not yet saved."""
    w = result["workloads"]
    colours = subject_colours(result)
    figures: dict[str, object] = {}

    latency = w["write_latency"]
    fig, ax = plt.subplots(figsize=(9, 5), layout="constrained")
    names = _ordered(result, latency["results"])
    for name in names:
        by_size = latency["results"][name]
        points = [(s, by_size[str(s)]["median_us"]) for s in latency["sizes"] if str(s) in by_size]
        ax.plot(*zip(*points, strict=True), marker="o", label=name, color=colours[name])
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="comments already in the thread",
        ylabel="median µs per comment (one per transaction)",
        title="Write latency against thread size",
    )
    ax.grid(True, which="both", alpha=0.3)
    _subject_legend(fig, names, colours)
    figures["latency"] = fig

    concurrency = w["concurrency"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True, layout="constrained")
    shown: list[str] = []
    for ax, target, label in (
        (axes[0], "hot", "one hot thread"),
        (axes[1], "spread", "a thread per writer"),
    ):
        data = concurrency["results"][target]
        for name in _ordered(result, data):
            by_writers = data[name]
            xs = [n for n in concurrency["writers"] if str(n) in by_writers]
            ys = [by_writers[str(n)]["throughput"] for n in xs]
            ax.plot(xs, ys, marker="o", label=name, color=colours[name])
            if name not in shown:
                shown.append(name)
        ax.set(xlabel="concurrent writers", title=label, xticks=concurrency["writers"])
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("comments per second")
    fig.suptitle("Throughput against writers")
    _subject_legend(fig, _ordered(result, dict.fromkeys(shown)), colours)
    figures["throughput"] = fig

    statements = w["statements"]
    names = _ordered(result, statements["results"])
    ops = statements["operations"]
    fig, ax = plt.subplots(figsize=(10, 4.5), layout="constrained")
    width = 0.8 / len(ops)
    for i, op in enumerate(ops):
        ax.bar(
            [n + i * width for n in range(len(names))],
            [statements["results"][name][op] for name in names],
            width,
            label=op,
            color=PALETTE[i % len(PALETTE)],
        )
    ax.set_xticks(
        [n + width * (len(ops) - 1) / 2 for n in range(len(names))],
        names,
        rotation=30,
        ha="right",
        fontsize=8,
    )
    ax.set(ylabel="SQL statements", title="Statements per operation")
    ax.legend()
    figures["statements"] = fig

    search = w.get("search")
    if search:
        size = str(search["sizes"][-1])
        kinds = list(search["queries"][size])
        fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
        for i, form in enumerate(("live", "materialized")):
            ax.bar(
                [n + i * 0.4 for n in range(len(kinds))],
                [search["queries"][size][k][form]["median_us"] / 1000 for k in kinds],
                0.4,
                label=form,
                color=PALETTE[i],
            )
        ax.set_xticks([n + 0.2 for n in range(len(kinds))], kinds)
        ax.set(ylabel="median ms per search", title=f"Search at {int(size):,} comments")
        ax.legend()
        figures["search"] = fig
    return figures


def _plots(result: dict, out: Path, prefix: str = "") -> list[Path]:
    return [_save(fig, out / f"{prefix}{PLOTS[key]}") for key, fig in build_figures(result).items()]


def _save(fig, path: Path) -> Path:
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
