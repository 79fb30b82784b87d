"""URL routes: the pages, and the JSON API under /api (see shared/CONTRACT.md)."""

from __future__ import annotations

from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    config.add_static_view("static", "forum:static", cache_max_age=3600)

    config.add_route("home", "/")
    config.add_route("board", "/b/{slug}")
    config.add_route("board.new_thread", "/b/{slug}/threads")
    config.add_route("thread", "/t/{id}")
    config.add_route("thread.reply", "/t/{id}/reply")
    config.add_route("thread.delete", "/t/{id}/delete")
    config.add_route("comment.edit", "/c/{id}/edit")
    config.add_route("comment.delete", "/c/{id}/delete")
    config.add_route("comment.move", "/c/{id}/move")
    config.add_route("login", "/login")
    config.add_route("logout", "/logout")
    config.add_route("logout.everywhere", "/logout/everywhere")
    config.add_route("register", "/register")
    config.add_route("password", "/account/password")
    config.add_route("user", "/u/{name}")
    config.add_route("user.threads", "/u/{name}/threads")
    config.add_route("search", "/search")
    config.add_route("strategies", "/strategies")
    config.add_route("strategies.plot", "/strategies/plots/{name}")

    config.add_route("api.users", "/api/users")
    config.add_route("api.session", "/api/session")
    config.add_route("api.sessions", "/api/sessions")
    config.add_route("api.boards", "/api/boards")
    config.add_route("api.board", "/api/boards/{slug}")
    config.add_route("api.board_threads", "/api/boards/{slug}/threads")
    config.add_route("api.thread", "/api/threads/{id}")
    config.add_route("api.thread_comments", "/api/threads/{id}/comments")
    config.add_route("api.comment", "/api/comments/{id}")
    config.add_route("api.search", "/api/search")
