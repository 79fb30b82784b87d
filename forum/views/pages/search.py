"""The search page: the query shown back in the box, ranked results with highlights."""

from __future__ import annotations

from pyramid.request import Request
from pyramid.view import view_config

from ...cache.reads import cached_search
from ...search.query import SearchInputError, check_page
from ...services import reading
from .common import found_or_404


@view_config(route_name="search", request_method="GET", renderer="forum:templates/search.jinja2")
def search_page(request: Request) -> dict:
    settings = request.registry.settings["forum.settings"]
    raw = request.GET.get("q", "")
    slug = request.GET.get("board") or ""
    context = {
        "query": raw.replace("\x00", ""),
        "board_slug": slug,
        "boards": reading.boards(request.dbsession),
        "results": None,
        "search_form": settings.search_view,
    }
    board = found_or_404(reading.board_by_slug(request.dbsession, slug), "board") if slug else None
    try:
        page = check_page(request.GET.get("page"))
        if raw.strip() or "q" in request.GET:
            context["results"] = cached_search(request, raw, board=board, page=page)
    except SearchInputError as error:
        request.response.status_int = error.status
        context["errors"] = {"q": error.message}
    return context
