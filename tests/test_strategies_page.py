"""/strategies: the active settings, a note on each strategy, and the latest report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPORT = {
    "plots": ["latency_vs_thread_size.png"],
    "generated_at": "2026-11-23 12:00 UTC",
}


@pytest.fixture
def results_folder(tmp_path: Path, app, monkeypatch) -> Path:
    monkeypatch.setitem(app.registry.settings, "forum.bench_results", str(tmp_path))
    return tmp_path


def test_without_a_report_the_page_says_how_to_make_one(testapp, results_folder, counter_strategy):
    page = testapp.get("/strategies")
    assert page.html.select_one("p .strategy").text == counter_strategy
    assert [h.get_text(" ", strip=True) for h in page.html.select(".strategy-note h2")] == [
        "attribute" + (" (active)" if counter_strategy == "attribute" else ""),
        "before_flush" + (" (active)" if counter_strategy == "before_flush" else ""),
        "after_insert" + (" (active)" if counter_strategy == "after_insert" else ""),
    ]
    assert "What it cannot see" in page.text
    assert "forum-bench development.ini --quick" in page.text
    assert page.html.select_one(".strategy-note.active")["id"] == counter_strategy


def test_the_latest_report_is_shown_with_its_plots(testapp, results_folder):
    (results_folder / "report.json").write_text(json.dumps(REPORT))
    (results_folder / "report.md").write_text(
        "# forum-bench report\n\n| subject | create |\n| --- | --- |\n| floor | 3 |\n\n"
        "![latency_vs_thread_size.png](latency_vs_thread_size.png)\n"
    )
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 64
    (results_folder / "latency_vs_thread_size.png").write_bytes(png)
    page = testapp.get("/strategies")
    assert page.html.select_one(".report table td").text == "floor"
    src = page.html.select_one(".report img")["src"]
    assert src == "/strategies/plots/latency_vs_thread_size.png"
    image = testapp.get(src)
    assert image.content_type == "image/png" and image.body == png


@pytest.mark.parametrize(
    "name", ["report.json", "..%2Freport.md", "other.png", "latency_vs_thread_size.PNG"]
)
def test_only_the_reports_plots_are_served(testapp, results_folder, name):
    (results_folder / "report.json").write_text(json.dumps(REPORT))
    (results_folder / "report.md").write_text("# report\n")
    (results_folder / "other.png").write_bytes(b"x")
    testapp.get(f"/strategies/plots/{name}", status=404)
