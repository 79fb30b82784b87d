"""URL routes: the pages, and the JSON API under /api (see shared/CONTRACT.md).

A route naming a board, thread or comment has it as its context, with the ACL
the views' ``permission=`` is checked against (forum.authorization).
"""

from __future__ import annotations

from pyramid.config import Configurator

from .authorization import board_factory, comment_factory, thread_factory, thread_page_factory


def includeme(config: Configurator) -> None:
    config.add_static_view("static", "forum:static", cache_max_age=3600)

    config.add_route("home", "/")
    config.add_route("board", "/b/{slug}", factory=board_factory)
    config.add_route("board.new_thread", "/b/{slug}/threads", factory=board_factory)
    config.add_route("thread", "/t/{id}", factory=thread_page_factory)
    config.add_route("thread.reply", "/t/{id}/reply", factory=thread_factory)
    config.add_route("thread.delete", "/t/{id}/delete", factory=thread_factory)
    config.add_route("comment.edit", "/c/{id}/edit", factory=comment_factory)
    config.add_route("comment.delete", "/c/{id}/delete", factory=comment_factory)
    config.add_route("comment.move", "/c/{id}/move", factory=comment_factory)
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
    config.add_route("api.board", "/api/boards/{slug}", factory=board_factory)
    config.add_route("api.board_threads", "/api/boards/{slug}/threads", factory=board_factory)
    config.add_route("api.thread", "/api/threads/{id}", factory=thread_factory)
    config.add_route("api.thread_comments", "/api/threads/{id}/comments", factory=thread_factory)
    config.add_route("api.comment", "/api/comments/{id}", factory=comment_factory)
    config.add_route("api.search", "/api/search")
