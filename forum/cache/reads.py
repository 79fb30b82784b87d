"""Cached reads that are not ORM queries: search results and the rendered bench report.

Search results live in the ``search`` scope, which every committed change to a
comment or thread renews, and expire after ``forum.cache_search_seconds`` at
the latest (the materialized view catches up after its own refresh, so a
short expiry bounds that lag too). A search the statement timeout stopped is
never stored. The report's key is its file's size and modification time, so a
new report is picked up on the next read without any invalidation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from pyramid.request import Request

from ..models import Board
from ..search.query import Results, check_query, search
from . import keys, request_cache

REPORTS = "reports"


def cached_search(
    request: Request, raw_query: object, *, board: Board | None, page: int
) -> Results:
    """``forum.search.query.search`` with the app's settings, through the cache on a GET."""
    settings = request.registry.settings["forum.settings"]

    def run() -> Results:
        return search(
            request.dbsession,
            raw_query,
            form=settings.search_view,
            board=board,
            page=page,
            timeout_ms=settings.search_timeout_ms,
        )

    cache = request_cache(request)
    if cache is None:
        return run()
    query = check_query(raw_query)  # a NUL or an over-long query is refused as before
    digest = hashlib.sha256(query.encode()).hexdigest()[:32]
    where = board.id if board is not None else "all"
    return cache.value(
        keys.SEARCH,
        f"{settings.search_view}:{where}:{page}:{digest}",
        run,
        expiration=cache.search_seconds,
        should_cache=lambda results: not results.timed_out,
    )


def cached_report(request: Request, path: Path, render: Callable[[], str]) -> str:
    """``render()``'s HTML of the report file ``path``, kept until the file changes."""
    cache = request_cache(request)
    if cache is None:
        return render()
    stat = path.stat()
    name = f"{path.resolve()}:{stat.st_mtime_ns}:{stat.st_size}"
    return cache.value(REPORTS, hashlib.sha256(name.encode()).hexdigest()[:32], render)
