"""Boards and the threads on them."""

from __future__ import annotations

from pyramid.request import Request
from pyramid.view import view_config

from ...authorization import START_THREAD
from ...models import Board
from ...services import posting, reading
from .inputs import json_body, max_message_chars, page_request
from .serialize import board_json, page_json, thread_json


def board_from_route(request: Request) -> Board:
    """The route's board (its context, forum.authorization.board_factory)."""
    return request.context.board


@view_config(route_name="api.boards", request_method="GET", renderer="json")
def list_boards(request: Request) -> dict:
    return {"boards": [board_json(b) for b in reading.boards(request.dbsession)]}


@view_config(route_name="api.board", request_method="GET", renderer="json")
def show_board(request: Request) -> dict:
    return board_json(board_from_route(request))


@view_config(route_name="api.board_threads", request_method="GET", renderer="json")
def list_threads(request: Request) -> dict:
    board = board_from_route(request)
    page = reading.board_threads(request.dbsession, board, page_request(request))
    return page_json("threads", page, lambda thread: thread_json(thread, board))


@view_config(
    route_name="api.board_threads", request_method="POST", renderer="json", permission=START_THREAD
)
def create_thread(request: Request) -> dict:
    user = request.identity
    board = board_from_route(request)
    body = json_body(request)
    thread = posting.create_thread(
        request.dbsession,
        board,
        user,
        body.get("title"),
        body.get("message"),
        max_message_chars(request),
    )
    request.response.status_int = 201
    return thread_json(thread, board)
