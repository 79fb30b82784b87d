"""The list of boards, a board's threads, and starting a thread."""

from __future__ import annotations

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config

from ...services import posting, reading
from ...services.errors import InvalidField
from ...services.reading import PageRequest
from .common import PAGE_SIZE, form_error, found_or_404, page_request, signed_in


@view_config(route_name="home", request_method="GET", renderer="forum:templates/boards.jinja2")
def home(request: Request) -> dict:
    return {"boards": reading.boards(request.dbsession)}


@view_config(route_name="board", request_method="GET", renderer="forum:templates/board.jinja2")
def board_page(request: Request) -> dict:
    board = found_or_404(
        reading.board_by_slug(request.dbsession, request.matchdict["slug"]), "board"
    )
    return {
        "board": board,
        "page": reading.board_threads(request.dbsession, board, page_request(request)),
    }


@view_config(
    route_name="board.new_thread", request_method="POST", renderer="forum:templates/board.jinja2"
)
def new_thread(request: Request):
    user = signed_in(request)
    board = found_or_404(
        reading.board_by_slug(request.dbsession, request.matchdict["slug"]), "board"
    )
    max_chars = request.registry.settings["forum.settings"].max_message_chars
    try:
        thread = posting.create_thread(
            request.dbsession,
            board,
            user,
            request.POST.get("title"),
            request.POST.get("message"),
            max_chars,
        )
    except InvalidField as error:
        page = reading.board_threads(request.dbsession, board, PageRequest(PAGE_SIZE))
        return form_error(request, error.field, error.message, board=board, page=page)
    request.session.flash("Your thread is up.")
    return HTTPSeeOther(request.route_path("thread", id=thread.id))
