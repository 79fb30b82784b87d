"""A thread page, replying to it, and (for moderators) deleting it, after asking."""

from __future__ import annotations

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config

from ... import parallel
from ...authorization import DELETE, REPLY, DeferredThreadResource, Missing, existing_thread
from ...models import Thread
from ...services import posting, reading
from ...services.errors import InvalidField, NotFound
from ...services.reading import Page, PageRequest
from ...services.text import check_text
from .common import PAGE_SIZE, form_error, page_request
from .paging import position

THREAD = "forum:templates/thread.jinja2"


def thread_from_route(request: Request) -> Thread:
    """The route's thread (its context, forum.authorization.thread_factory)."""
    return request.context.thread


def thread_context(
    request: Request, thread: Thread, want: PageRequest, page: Page | None = None
) -> dict:
    """The thread, one page of its comments, and where that page is (from the counter)."""
    if page is None:
        page = reading.thread_comments(request.dbsession, thread, want)
    path = request.route_path("thread", id=thread.id)
    where = position(request, path, page, want, thread.comment_count, PAGE_SIZE)
    return {"thread": thread, "page": page, "position": where}


@view_config(route_name="thread", request_method="GET", renderer=THREAD)
def thread_page(request: Request) -> dict:
    """The header and the page of comments are independent reads (``forum.parallel``)."""
    context: DeferredThreadResource = request.context
    want = page_request(request)
    thread_id = reading.parse_uuid(context.key)
    if thread_id is None:
        raise Missing("thread", context.key)
    found = parallel.read_all(
        request,
        {
            "thread": lambda session: reading.thread_by_id(session, context.key),
            "page": lambda session: reading.comments_of(session, thread_id, want),
        },
    )
    context.thread = existing_thread(found["thread"], context.key)
    return thread_context(request, context.thread, want, page=found["page"])


@view_config(route_name="thread.reply", request_method="POST", renderer=THREAD, permission=REPLY)
def reply(request: Request):
    user = request.identity
    thread = thread_from_route(request)
    max_chars = request.registry.settings["forum.settings"].max_message_chars
    message = request.POST.get("message")
    try:
        if request.POST.get("preview"):
            check_text("message", message, max_chars=max_chars)
            context = thread_context(request, thread, PageRequest(PAGE_SIZE, last=True))
            return {**context, "preview": message, "values": {"message": message}}
        comment = posting.add_comment(request.dbsession, thread, user, message, max_chars)
    except InvalidField as error:
        context = thread_context(request, thread, PageRequest(PAGE_SIZE, last=True))
        return form_error(request, error.field, error.message, **context)
    except NotFound:
        request.session.flash("That thread was deleted before your reply arrived.")
        return HTTPSeeOther(request.route_path("home"))
    request.session.flash("Reply posted.")
    return HTTPSeeOther(
        request.route_path("thread", id=thread.id, _query={"last": "1"}, _anchor=f"c-{comment.id}")
    )


@view_config(
    route_name="thread.delete",
    request_method="GET",
    renderer="forum:templates/confirm_delete.jinja2",
    permission=DELETE,
)
def confirm_delete_thread(request: Request) -> dict:
    """Ask first: a plain page with one button, so it works without JavaScript."""
    thread = thread_from_route(request)
    return {
        "what": "this thread",
        "thread": thread,
        "comment": None,
        "action": request.route_path("thread.delete", id=thread.id),
        "back": request.route_path("thread", id=thread.id),
    }


@view_config(route_name="thread.delete", request_method="POST", permission=DELETE)
def delete_thread(request: Request):
    thread = thread_from_route(request)
    board_slug, title = thread.board.slug, thread.title
    posting.delete_thread(request.dbsession, thread)
    request.session.flash(f"Deleted the thread “{title}”.")
    return HTTPSeeOther(request.route_path("board", slug=board_slug))
