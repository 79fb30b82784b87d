"""A thread, its comments, replying to it, and (for moderators) deleting it."""

from __future__ import annotations

from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config

from ...authorization import DELETE, REPLY
from ...models import Thread
from ...services import posting, reading
from .inputs import json_body, max_message_chars, no_content, page_request
from .serialize import comment_json, page_json, thread_json


def thread_from_route(request: Request) -> Thread:
    """The route's thread (its context, forum.authorization.thread_factory)."""
    return request.context.thread


@view_config(route_name="api.thread", request_method="GET", renderer="json")
def show_thread(request: Request) -> dict:
    return thread_json(thread_from_route(request))


@view_config(route_name="api.thread", request_method="DELETE", permission=DELETE)
def delete_thread(request: Request) -> Response:
    posting.delete_thread(request.dbsession, thread_from_route(request))
    return no_content(request)


@view_config(route_name="api.thread_comments", request_method="GET", renderer="json")
def list_comments(request: Request) -> dict:
    thread = thread_from_route(request)
    page = reading.thread_comments(request.dbsession, thread, page_request(request))
    return page_json("comments", page, comment_json)


@view_config(
    route_name="api.thread_comments", request_method="POST", renderer="json", permission=REPLY
)
def reply(request: Request) -> dict:
    user = request.identity
    thread = thread_from_route(request)
    body = json_body(request)
    comment = posting.add_comment(
        request.dbsession,
        thread,
        user,
        body.get("message"),
        max_message_chars(request),
    )
    request.response.status_int = 201
    return comment_json(comment)
