"""One comment: read it, edit it (author or moderator), move it (moderator), delete it."""

from __future__ import annotations

from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config

from ...authorization import DELETE, EDIT, MOVE, locked_comment, require
from ...services import posting, reading
from .errors import ApiError
from .inputs import json_body, max_message_chars, no_content
from .serialize import comment_json

CHANGEABLE = ("message", "thread_id")


@view_config(route_name="api.comment", request_method="GET", renderer="json")
def show_comment(request: Request) -> dict:
    return comment_json(request.context.comment)


@view_config(route_name="api.comment", request_method="PATCH", renderer="json", permission=EDIT)
def change_comment(request: Request) -> dict:
    body = json_body(request)
    unknown = sorted(set(body) - set(CHANGEABLE))
    if unknown:
        raise ApiError(
            422, "invalid", f"cannot change {', '.join(unknown)}; only message, thread_id"
        )
    if not any(field in body for field in CHANGEABLE):
        raise ApiError(422, "invalid", "give message (to edit) or thread_id (to move)")
    if "thread_id" in body:
        require(request, MOVE)
    comment = locked_comment(request)

    max_chars = max_message_chars(request)
    target = None
    if "thread_id" in body:
        if not isinstance(body["thread_id"], str):
            raise ApiError(422, "invalid", "thread_id must be a thread id (a string)")
        target = reading.thread_by_id(request.dbsession, body["thread_id"])
        if target is None:
            raise ApiError(422, "invalid", f"thread_id: no thread {body['thread_id']!r}")
    if "message" in body:
        posting.edit_comment(request.dbsession, comment, body["message"], max_chars)
    if target is not None:
        posting.move_comment(request.dbsession, comment, target)
    return comment_json(comment)


@view_config(route_name="api.comment", request_method="DELETE", permission=DELETE)
def delete_comment(request: Request) -> Response:
    posting.delete_comment(request.dbsession, locked_comment(request))
    return no_content(request)
