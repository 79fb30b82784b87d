"""Editing (with a preview), deleting (after asking) and (for moderators) moving a comment."""

from __future__ import annotations

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config

from ...authorization import DELETE, EDIT, MOVE, locked_comment
from ...models import Comment
from ...pagination import encode_cursor
from ...services import posting, reading
from ...services.errors import InvalidField
from ...services.text import check_text
from .common import form_error

EDIT_PAGE = "forum:templates/comment_edit.jinja2"
MOVE_PAGE = "forum:templates/comment_move.jinja2"


def at_comment(request: Request, comment: Comment) -> str:
    """The thread page that starts at ``comment`` (or where it was), scrolled to it."""
    cursor = encode_cursor((comment.created_at, comment.id))
    return request.route_path(
        "thread", id=comment.thread_id, _query={"at": cursor}, _anchor=f"c-{comment.id}"
    )


@view_config(route_name="comment.edit", request_method="GET", renderer=EDIT_PAGE, permission=EDIT)
def edit_form(request: Request) -> dict:
    return {"comment": request.context.comment}


@view_config(route_name="comment.edit", request_method="POST", renderer=EDIT_PAGE, permission=EDIT)
def edit(request: Request):
    comment = locked_comment(request)
    max_chars = request.registry.settings["forum.settings"].max_message_chars
    message = request.POST.get("message")
    try:
        if request.POST.get("preview"):
            check_text("message", message, max_chars=max_chars)
            return {"comment": comment, "preview": message, "values": {"message": message}}
        posting.edit_comment(request.dbsession, comment, message, max_chars)
    except InvalidField as error:
        return form_error(request, error.field, error.message, comment=comment)
    request.session.flash("Comment saved.")
    return HTTPSeeOther(at_comment(request, comment))


@view_config(
    route_name="comment.delete",
    request_method="GET",
    renderer="forum:templates/confirm_delete.jinja2",
    permission=DELETE,
)
def confirm_delete(request: Request) -> dict:
    """Ask first: a plain page with one button, so it works without JavaScript."""
    comment = request.context.comment
    return {
        "what": "this comment",
        "comment": comment,
        "thread": None,
        "action": request.route_path("comment.delete", id=comment.id),
        "back": at_comment(request, comment),
    }


@view_config(route_name="comment.delete", request_method="POST", permission=DELETE)
def delete(request: Request):
    comment = locked_comment(request)
    where = at_comment(request, comment).split("#")[0]  # the page now starts just after it
    posting.delete_comment(request.dbsession, comment)
    request.session.flash("Comment deleted.")
    return HTTPSeeOther(where)


@view_config(route_name="comment.move", request_method="GET", renderer=MOVE_PAGE, permission=MOVE)
def move_form(request: Request) -> dict:
    comment = request.context.comment
    query = request.GET.get("q", "").strip()[:200].replace("\x00", "")
    found = reading.threads_titled(request.dbsession, query) if query else []
    return {"comment": comment, "query": query, "found": found}


@view_config(route_name="comment.move", request_method="POST", renderer=MOVE_PAGE, permission=MOVE)
def move(request: Request):
    comment = locked_comment(request)
    raw = request.POST.get("thread_id", "").strip()
    target = reading.thread_by_id(request.dbsession, raw)
    if target is None:
        message = (
            "Give a thread id." if not raw else f"There is no thread with the id “{raw[:80]}”."
        )
        return form_error(request, "thread_id", message, comment=comment, query="", found=[])
    posting.move_comment(request.dbsession, comment, target)
    request.session.flash(f"Moved the comment to “{target.title}”.")
    return HTTPSeeOther(at_comment(request, comment))
