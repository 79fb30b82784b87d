"""One comment: read it, edit it (author or moderator), move it (moderator), delete it."""

from __future__ import annotations

from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config

from ...models import Comment
from ...services import posting, reading
from .errors import ApiError
from .inputs import json_body, max_message_chars, may_change, no_content, or_404, signed_in
from .serialize import comment_json

CHANGEABLE = ("message", "thread_id")


def comment_from_route(request: Request, *, for_update: bool = False) -> Comment:
    key = request.matchdict["id"]
    found = reading.comment_by_id(request.dbsession, key, for_update=for_update)
    return or_404(found, "comment", key)


@view_config(route_name="api.comment", request_method="GET", renderer="json")
def show_comment(request: Request) -> dict:
    return comment_json(comment_from_route(request))


@view_config(route_name="api.comment", request_method="PATCH", renderer="json")
def change_comment(request: Request) -> dict:
    user = signed_in(request)
    body = json_body(request)
    comment = comment_from_route(request, for_update=True)
    unknown = sorted(set(body) - set(CHANGEABLE))
    if unknown:
        raise ApiError(
            422, "invalid", f"cannot change {', '.join(unknown)}; only message, thread_id"
        )
    if not any(field in body for field in CHANGEABLE):
        raise ApiError(422, "invalid", "give message (to edit) or thread_id (to move)")
    if not may_change(user, comment):
        raise ApiError(403, "forbidden", "only its author or a moderator may change a comment")
    if "thread_id" in body and not user.is_moderator:
        raise ApiError(403, "forbidden", "only moderators may move comments")

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


@view_config(route_name="api.comment", request_method="DELETE")
def delete_comment(request: Request) -> Response:
    user = signed_in(request)
    comment = comment_from_route(request, for_update=True)
    if not may_change(user, comment):
        raise ApiError(403, "forbidden", "only its author or a moderator may delete a comment")
    posting.delete_comment(request.dbsession, comment)
    return no_content(request)
