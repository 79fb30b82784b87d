"""forum-bench runs end to end on a tiny scratch database; its report names every subject.

No timing is asserted: numbers come from the report, never from a test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, text

from forum.database import maintenance_url

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SUBJECTS = [
    "attribute",
    "before_flush",
    "after_insert",
    "orm_bare",
    "floor",
    "trigger",
    "compute_on_read",
    "naive_after_insert",
    "naive_before_flush",
    "naive_in_memory",
]
WORKLOADS = ["write_latency", "statements", "batched", "concurrency", "read_path", "search"]


def forum_bench(out: Path, *options: str) -> None:
    """Run ``forum-bench development.ini *options --out out`` as a user would; it succeeds."""
    result = subprocess.run(
        [str(BIN / "forum-bench"), str(ROOT / "development.ini"), *options, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_forum_bench_quick_writes_a_complete_report(tmp_path: Path, database_url):
    out = tmp_path / "results"
    forum_bench(out, "--quick", "--tiny")
    report = json.loads((out / "report.json").read_text())
    markdown = (out / "report.md").read_text()

    assert [s["name"] for s in report["subjects"]] == SUBJECTS
    assert set(report["workloads"]) == set(WORKLOADS)
    for name in SUBJECTS:
        assert f"| {name} |" in markdown
    latency = report["workloads"]["write_latency"]["results"]
    assert set(latency) == set(SUBJECTS)
    assert "100000" not in latency["attribute"]  # tiny sizes only
    statements = report["workloads"]["statements"]["results"]
    assert all(
        set(counts) == {"create", "edit", "move", "delete"} for counts in statements.values()
    )
    # Issue 8's statement goal: create, edit and delete at no more statements than the floor.
    for name in ("attribute", "before_flush", "after_insert"):
        for operation in ("create", "edit", "delete"):
            assert statements[name][operation] <= statements["floor"][operation], (
                name,
                operation,
                statements[name],
                statements["floor"],
            )
    strategies = ("attribute", "before_flush", "after_insert")
    for name in (*strategies, *(f"{s} (commit)" for s in strategies), "floor", "trigger"):
        hot = report["workloads"]["concurrency"]["results"]["hot"][name]
        assert all(cell["drift"] == 0 for cell in hot.values()), (name, hot)
    assert report["machine"]["cores"] >= 1
    for plot in report["plots"]:
        assert (out / plot).stat().st_size > 1000
        assert f"![{plot}]({plot})" in markdown
    # The scratch database is gone again.
    engine = create_engine(maintenance_url(database_url))
    with engine.connect() as connection:
        assert (
            connection.scalar(
                text("SELECT count(*) FROM pg_database WHERE datname = :n"),
                {"n": database_url.database + "_bench"},
            )
            == 0
        )
    engine.dispose()


def test_forum_bench_only_counters_writes_its_own_report(tmp_path: Path, database_url):
    """Every workload but search, into counters-report.md with its own plots: a run that
    re-measures the counters leaves the full report (and its search figures) alone."""
    out = tmp_path / "results"
    forum_bench(out, "--tiny", "--only", "counters")
    assert not (out / "report.md").exists()
    report = json.loads((out / "counters-report.json").read_text())
    markdown = (out / "counters-report.md").read_text()
    assert set(report["workloads"]) == set(WORKLOADS) - {"search"}
    assert markdown.startswith("# forum-bench report: the counters' workloads")
    assert "| before_flush |" in markdown
    assert report["plots"] and all(p.startswith("counters-") for p in report["plots"])
    for plot in report["plots"]:
        assert (out / plot).stat().st_size > 1000
        assert f"![{plot}]({plot})" in markdown


def test_forum_bench_only_search_writes_its_own_report(tmp_path: Path, database_url):
    out = tmp_path / "results"
    forum_bench(out, "--tiny", "--only", "search")
    assert not (out / "report.md").exists()  # the full report is left alone
    report = json.loads((out / "search-report.json").read_text())
    markdown = (out / "search-report.md").read_text()
    search = report["workloads"]["search"]
    size = str(search["sizes"][-1])
    assert set(search["queries"][size]) == {"selective", "phrase", "broad", "broad page 5"}
    for forms in search["queries"][size].values():
        assert {f["statements"] for f in forms.values()} == {2}
    assert "| broad page 5 |" in markdown and "statements per search" in markdown


def test_forum_bench_only_parallel_writes_its_own_report(tmp_path: Path, database_url):
    out = tmp_path / "results"
    forum_bench(out, "--tiny", "--only", "parallel")
    assert not (out / "report.md").exists()  # the full report is left alone
    parallel = json.loads((out / "parallel-report.json").read_text())["workloads"]["parallel"]
    assert set(parallel["latency"]) == {
        "board index",
        "thread, first page",
        "thread, middle page",
        "thread, last page",
    }
    for figures in parallel["latency"].values():
        assert figures["serial"]["n"] == figures["parallel"]["n"] > 0
    markdown = (out / "parallel-report.md").read_text()
    assert "## Verdict" in markdown and "| thread, middle page |" in markdown


def test_forum_bench_only_cache_writes_its_own_report(tmp_path: Path, database_url):
    out = tmp_path / "results"
    forum_bench(out, "--tiny", "--only", "cache")
    assert not (out / "report.md").exists()  # the full report is left alone
    cache = json.loads((out / "cache-report.json").read_text())["workloads"]["cache"]
    markdown = (out / "cache-report.md").read_text()
    pages = ["board index", "board page", "thread page"]
    assert list(cache["latency"]) == pages and list(cache["throughput"]) == pages
    assert set(cache["backends"]) >= {"none", "memory"}  # redis when one answers
    for page in pages:
        assert set(cache["latency"][page]["none"]) == {"read"}
        for backend in set(cache["backends"]) - {"none"}:
            assert set(cache["latency"][page][backend]) == {"hit", "miss"}
        assert f"| {page} |" in markdown
    assert cache["writes"]["drifted_threads"] == 0
    assert "What invalidation adds to a write" in markdown
