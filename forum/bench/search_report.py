"""The search workload's tables, for the full report and for ``forum-bench --only search``.

``forum-bench --only search`` writes ``search-report.md`` and ``search-report.json``
(never ``report.md``), so a search-only run sits beside the full report.
"""

from __future__ import annotations

from pathlib import Path

from .markdown import load_lines, machine_section, made_by, table, write_report_files


def _ms(value_us: float | None) -> str:
    if value_us is None:
        return "n/a"
    return f"{value_us / 1000:,.1f} ms"


def _matches(cell: dict) -> str:
    if cell["bounded"]:
        return f"about {cell['total']:,} (newest ranked)"
    return f"{cell['total']:,}"


def search_tables(search: dict) -> list[str]:
    """Latency, statements and headline share per query and form; refresh; each form's cost."""
    lines: list[str] = []
    rows = []
    for size in search["sizes"]:
        for kind, forms in search["queries"][str(size)].items():
            live, mat = forms["live"], forms["materialized"]
            rows.append(
                [
                    f"{size:,}",
                    kind,
                    _matches(live),
                    f"{_ms(live['median_us'])} / {_ms(live['p95_us'])}",
                    f"{_ms(mat['median_us'])} / {_ms(mat['p95_us'])}",
                    f"{live.get('statements', 'n/a')} / {mat.get('statements', 'n/a')}",
                ]
            )
    lines += table(
        [
            "comments",
            "query",
            "matches",
            "live (median / p95)",
            "materialized (median / p95)",
            "statements per search (live / materialized)",
        ],
        rows,
    )
    headlines = search.get("headlines")
    if headlines:
        lines += [
            "The page statement alone, with and without `ts_headline` on its 20 rows "
            "(medians): the headlines' share of it.",
            "",
        ]
        rows = []
        for size, by_kind in headlines.items():
            for kind, forms in by_kind.items():
                rows.append(
                    [
                        f"{int(size):,}",
                        kind,
                        *(
                            f"{_ms(forms[f]['with_us'])} / {_ms(forms[f]['without_us'])} "
                            f"({forms[f]['share']:.0%})"
                            for f in ("live", "materialized")
                        ),
                    ]
                )
        lines += table(
            [
                "comments",
                "query",
                "live: with / without (share)",
                "materialized: with / without (share)",
            ],
            rows,
        )
    lines += table(
        ["comments", "full refresh (CONCURRENTLY)"],
        [
            [f"{int(size):,}", f"{seconds:.1f} s"]
            for size, seconds in search["refresh_seconds"].items()
        ],
    )
    overhead, stale = search["write_overhead"], search["staleness"]
    lines += [
        "What each form costs: the live form pays per write (the generated "
        "`tsvector` column and its GIN index), the materialized form pays in "
        "staleness.",
        "",
    ]
    lines += table(
        ["cost", "measured"],
        [
            [
                "comment INSERT with the search column (live)",
                _ms(overhead["with_search_column"]["median_us"]),
            ],
            ["comment INSERT without it", _ms(overhead["without"]["median_us"])],
            ["live form's write overhead", f"{overhead['overhead_ratio']}×"],
            [
                f"materialized staleness under {stale['writes_per_second']} writes/s",
                f"p50 {stale['p50_s']} s, p95 {stale['p95_s']} s, max {stale['max_s']} s "
                f"({stale['refreshes']} refreshes for {stale['writes']} writes, "
                f"{stale['unseen']} never seen)",
            ],
        ],
    )
    return lines + load_lines(search, "the search workload")


def write_search_report(result: dict, out: Path) -> list[Path]:
    """``search-report.json`` and ``search-report.md`` in ``out``; the files written."""
    search = result["workloads"]["search"]
    lines = [
        "# forum-bench report: search only",
        "",
        made_by(
            result,
            "The full comparison is in `report.md`; this run measured the search workload alone.",
        ),
        "",
        *machine_section(result),
        "## Search",
        "",
        "Latency of a whole search as a request sees it (query check, estimate, ranking, "
        "count, headlines), median and p95 of the repeats: each query on each form in "
        "turn, after one untimed warm-up search. Statements are those the search sent "
        "(the transaction's BEGIN is psycopg2's and not counted).",
        "",
        *search_tables(search),
    ]
    return write_report_files(out, "search-report", result, lines)
