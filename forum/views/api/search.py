"""GET /api/search?q=&board=&page=: ranked, highlighted results (headlines are safe HTML)."""

from __future__ import annotations

from pyramid.request import Request
from pyramid.view import view_config

from ...cache.reads import cached_search
from ...search.query import SearchInputError, check_page
from ...services import reading
from .errors import ApiError
from .inputs import or_404


@view_config(route_name="api.search", request_method="GET", renderer="json")
def api_search(request: Request) -> dict:
    slug = request.GET.get("board") or None
    board = or_404(reading.board_by_slug(request.dbsession, slug), "board", slug) if slug else None
    try:
        results = cached_search(
            request, request.GET.get("q", ""), board=board, page=check_page(request.GET.get("page"))
        )
    except SearchInputError as error:
        code = "malformed" if error.status == 400 else "invalid"
        raise ApiError(error.status, code, error.message) from None
    return {
        "results": [
            {
                "kind": hit.kind,
                "thread_id": hit.thread_id,
                "comment_id": hit.comment_id,
                "title": hit.title,
                "headline": str(hit.headline),
                "rank": hit.rank,
            }
            for hit in results.hits
        ],
        "total": results.total,
        "page": results.page,
        "has_next": results.has_next,
        "total_is_estimate": results.bounded,
        "notice": results.notice,
    }
