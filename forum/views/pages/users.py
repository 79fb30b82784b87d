"""A user's page: what they wrote (comments, or the threads they started), newest first.

Keyset-paged like every list. It shows no count of their comments: that
counter (``users.comment_count``) comes with the counters package, and a
COUNT here would cost a scan of everything they wrote on every visit.
"""

from __future__ import annotations

from pyramid.request import Request
from pyramid.view import view_config

from ...services import reading
from .common import PAGE_SIZE, found_or_404, page_request

USER = "forum:templates/user.jinja2"


def user_from_route(request: Request):
    return found_or_404(reading.user_by_name(request.dbsession, request.matchdict["name"]), "user")


@view_config(route_name="user", request_method="GET", renderer=USER)
def user_comments(request: Request) -> dict:
    user = user_from_route(request)
    page = reading.user_comments(request.dbsession, user, page_request(request, PAGE_SIZE))
    return {"user": user, "showing": "comments", "page": page}


@view_config(route_name="user.threads", request_method="GET", renderer=USER)
def user_threads(request: Request) -> dict:
    user = user_from_route(request)
    page = reading.user_threads(request.dbsession, user, page_request(request, PAGE_SIZE))
    return {"user": user, "showing": "threads", "page": page}
