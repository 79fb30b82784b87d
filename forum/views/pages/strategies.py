"""/strategies: the active strategies, what each one is for, and the latest benchmark report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import markdown
from markupsafe import Markup
from pyramid.httpexceptions import HTTPNotFound
from pyramid.request import Request
from pyramid.response import FileResponse
from pyramid.view import view_config

from ... import counting
from ...cache.reads import cached_report
from ...search import requests as search_refresh

PLOT_NAME = re.compile(r"[a-z_]+\.png")

#: Plain words for each strategy: when to pick it, what it costs, what it cannot see.
STRATEGY_NOTES = {
    "attribute": {
        "pick": "you want a thread's counts right in memory the moment a comment changes, "
        "before anything is flushed (code that reads them in the same request).",
        "costs": "it loads the thread and board of every comment it changes (a SELECT each, by "
        "key) and keeps a ledger of the changes, written at the flush as UPDATE ... SET "
        "x = x + delta: the most statements of the three for one comment.",
        "blind": "SQL that bypasses the session.",
    },
    "before_flush": {
        "pick": "transactions write many comments at once: it nets a whole flush into one "
        "UPDATE per thread and per board.",
        "costs": "reads the attribute history of every new, changed and deleted object at each "
        "flush; the counts in memory are right only after the flush.",
        "blind": "SQL that bypasses the session.",
    },
    "after_insert": {
        "pick": "you want the simplest code to follow: each comment row written issues its own "
        "UPDATE on the flush's connection, next to the row.",
        "costs": "one UPDATE pair per comment (a hundred comments, a hundred pairs); a "
        "transaction writing several threads can deadlock with another and be retried.",
        "blind": "SQL that bypasses the session.",
    },
}


def render_report(path: Path) -> str:
    """The report's Markdown as HTML (cached by forum.cache.reads.cached_report)."""
    return markdown.markdown(
        path.read_text(),
        extensions=["tables"],
        # align="..." rather than style="text-align: ...": the CSP allows no inline style.
        extension_configs={"tables": {"use_align_attribute": True}},
    )


def result_folders(request: Request) -> list[Path]:
    raw = request.registry.settings.get("forum.bench_results", "bench/results")
    return [Path(part) for part in raw.split()]


def latest_report(request: Request) -> tuple[Path, dict] | None:
    """The newest report.json among the configured folders, with the folder it is in."""
    found = []
    for folder in result_folders(request):
        path = folder / "report.json"
        if path.is_file():
            found.append((path.stat().st_mtime, folder))
    for _, folder in sorted(found, reverse=True):
        try:
            return folder, json.loads((folder / "report.json").read_text())
        except (OSError, ValueError):
            continue
    return None


@view_config(
    route_name="strategies", request_method="GET", renderer="forum:templates/strategies.jinja2"
)
def strategies_page(request: Request) -> dict:
    settings = request.registry.settings["forum.settings"]
    runner = search_refresh.active_runner()
    report = latest_report(request)
    rendered = None
    if report is not None:
        markdown_file = report[0] / "report.md"
        html = cached_report(request, markdown_file, lambda: render_report(markdown_file))
        html = re.sub(  # the plots, served from the results folder
            r'src="([a-z_]+\.png)"',
            lambda m: f'src="{request.route_path("strategies.plot", name=m.group(1))}"',
            html,
        )
        rendered = Markup(html)
    strategy = counting.active(request.registry["dbsession_factory"])
    return {
        "active": strategy.name if strategy else None,
        "search_view": settings.search_view,
        "search_refresh": settings.search_refresh
        if settings.search_view == "materialized"
        else None,
        "runner": runner.name if runner else None,
        "notes": STRATEGY_NOTES,
        "report_html": rendered,
        "report_folders": [str(f) for f in result_folders(request)],
    }


@view_config(route_name="strategies.plot", request_method="GET")
def plot(request: Request):
    name = request.matchdict["name"]
    report = latest_report(request)
    if report is None or not PLOT_NAME.fullmatch(name) or name not in report[1].get("plots", []):
        raise HTTPNotFound("No such plot.")
    path = report[0] / name
    if not path.is_file():
        raise HTTPNotFound("No such plot.")
    return FileResponse(str(path), request=request, content_type="image/png")
