"""URL routes: the JSON API under /api (see shared/CONTRACT.md)."""

from __future__ import annotations

from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    config.add_route("api.users", "/api/users")
    config.add_route("api.session", "/api/session")
    config.add_route("api.boards", "/api/boards")
    config.add_route("api.board", "/api/boards/{slug}")
    config.add_route("api.board_threads", "/api/boards/{slug}/threads")
    config.add_route("api.thread", "/api/threads/{id}")
    config.add_route("api.thread_comments", "/api/threads/{id}/comments")
    config.add_route("api.comment", "/api/comments/{id}")
