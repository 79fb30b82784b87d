"""A thread page, replying to it, and (for moderators) deleting it."""

from __future__ import annotations

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config

from ...models import Thread
from ...services import posting, reading
from ...services.errors import InvalidField, NotFound
from ...services.reading import PageRequest
from .common import PAGE_SIZE, form_error, found_or_404, moderator, page_request, signed_in


def thread_from_route(request: Request) -> Thread:
    return found_or_404(reading.thread_by_id(request.dbsession, request.matchdict["id"]), "thread")


@view_config(route_name="thread", request_method="GET", renderer="forum:templates/thread.jinja2")
def thread_page(request: Request) -> dict:
    thread = thread_from_route(request)
    page = reading.thread_comments(request.dbsession, thread, page_request(request))
    return {"thread": thread, "page": page}


@view_config(
    route_name="thread.reply", request_method="POST", renderer="forum:templates/thread.jinja2"
)
def reply(request: Request):
    user = signed_in(request)
    thread = thread_from_route(request)
    max_chars = request.registry.settings["forum.settings"].max_message_chars
    try:
        comment = posting.add_comment(
            request.dbsession, thread, user, request.POST.get("message"), max_chars
        )
    except InvalidField as error:
        page = reading.thread_comments(request.dbsession, thread, PageRequest(PAGE_SIZE, last=True))
        return form_error(request, error.field, error.message, thread=thread, page=page)
    except NotFound:
        request.session.flash("That thread was deleted before your reply arrived.")
        return HTTPSeeOther(request.route_path("home"))
    request.session.flash("Reply posted.")
    return HTTPSeeOther(
        request.route_path("thread", id=thread.id, _query={"last": "1"}, _anchor=f"c-{comment.id}")
    )


@view_config(route_name="thread.delete", request_method="POST")
def delete_thread(request: Request):
    moderator(request)
    thread = thread_from_route(request)
    board_slug, title = thread.board.slug, thread.title
    posting.delete_thread(request.dbsession, thread)
    request.session.flash(f"Deleted the thread “{title}”.")
    return HTTPSeeOther(request.route_path("board", slug=board_slug))
