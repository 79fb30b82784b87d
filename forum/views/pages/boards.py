"""The list of boards, a board's threads, and starting a thread."""

from __future__ import annotations

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config

from ... import parallel
from ...authorization import START_THREAD
from ...models import Board
from ...models.thread import TITLE_MAX_CHARS
from ...services import posting, reading
from ...services.errors import InvalidField
from ...services.reading import PageRequest
from ...services.text import check_text
from .common import PAGE_SIZE, form_error, page_request
from .paging import position

BOARD = "forum:templates/board.jinja2"


@view_config(route_name="home", request_method="GET", renderer="forum:templates/boards.jinja2")
def home(request: Request) -> dict:
    """Three independent reads (``forum.parallel``): boards, latest threads, totals."""
    return parallel.read_all(
        request,
        {"boards": reading.boards, "latest": reading.latest_threads, "totals": reading.totals},
    )


def board_from_route(request: Request) -> Board:
    """The route's board (its context, forum.authorization.board_factory)."""
    return request.context.board


def board_context(request: Request, board: Board, want: PageRequest) -> dict:
    """The board, one page of its threads, and where that page is (from the counter)."""
    page = reading.board_threads(request.dbsession, board, want)
    path = request.route_path("board", slug=board.slug)
    return {
        "board": board,
        "page": page,
        "position": position(request, path, page, want, board.thread_count, PAGE_SIZE),
    }


@view_config(route_name="board", request_method="GET", renderer=BOARD)
def board_page(request: Request) -> dict:
    board = board_from_route(request)
    return board_context(request, board, page_request(request))


@view_config(
    route_name="board.new_thread", request_method="POST", renderer=BOARD, permission=START_THREAD
)
def new_thread(request: Request):
    user = request.identity
    board = board_from_route(request)
    max_chars = request.registry.settings["forum.settings"].max_message_chars
    title, message = request.POST.get("title"), request.POST.get("message")
    try:
        if request.POST.get("preview"):
            check_text("title", title, max_chars=TITLE_MAX_CHARS, single_line=True)
            check_text("message", message, max_chars=max_chars)
            context = board_context(request, board, PageRequest(PAGE_SIZE))
            return {**context, "preview": message, "values": {"title": title, "message": message}}
        thread = posting.create_thread(request.dbsession, board, user, title, message, max_chars)
    except InvalidField as error:
        context = board_context(request, board, PageRequest(PAGE_SIZE))
        return form_error(request, error.field, error.message, **context)
    request.session.flash("Your thread is up.")
    return HTTPSeeOther(request.route_path("thread", id=thread.id))
