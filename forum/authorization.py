"""Who may do what: one ACL per board, thread and comment, read by one security policy.

Routes that name a board, thread or comment get it as their context (the
factories below, set in ``forum.routes``); a view that changes it declares the
permission it needs (``permission=`` on ``view_config``), and Pyramid asks
``SessionSecurityPolicy.permits`` (``forum.security``) before the view runs, for
the API and the pages alike. The rules live only in the ``__acl__`` here:

| permission | on | who |
| --- | --- | --- |
| ``start_thread`` | a board | any member |
| ``reply`` | a thread | any member |
| ``delete`` | a thread | moderators |
| ``edit``, ``delete`` | a comment | its author, moderators |
| ``move`` | a comment | moderators |

Reading needs no permission. A refusal is Pyramid's ``HTTPForbidden``: the
API answers 401 (signed out) or 403, the pages send a signed-out visitor to
sign in and show anyone else a 403 page (``forum.views.*.errors``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pyramid.authorization import ALL_PERMISSIONS, Allow, Authenticated, Deny, Everyone
from pyramid.httpexceptions import HTTPForbidden, HTTPNotFound
from pyramid.request import Request

from .models import Board, Comment, Thread, User
from .services import reading

START_THREAD = "start_thread"
REPLY = "reply"
EDIT = "edit"
DELETE = "delete"
MOVE = "move"

MODERATOR = "role:moderator"

Ace = tuple[str, str, Any]


def principals(user: User | None) -> list[str]:
    """What ``user`` counts as in an ACL: everyone; members also themselves and their role."""
    if user is None:
        return [Everyone]
    return [Everyone, Authenticated, f"user:{user.id}", f"role:{user.role}"]


class Missing(HTTPNotFound):
    """The board, thread or comment a route names does not exist (or no longer does)."""

    def __init__(self, what: str, key: str) -> None:
        super().__init__(f"There is no such {what}. It may have been deleted.")
        self.what = what
        self.key = key


class Resource:
    """A context: the object the route names, its ACL and what a refusal says."""

    #: What the pages and the API say when ``permission`` is refused to a member.
    refusals: dict[str, str] = {}

    @property
    def __acl__(self) -> Sequence[Ace]:
        raise NotImplementedError

    def refusal(self, permission: str) -> str:
        return self.refusals.get(permission, "You may not do that.")


class BoardResource(Resource):
    def __init__(self, board: Board) -> None:
        self.board = board

    @property
    def __acl__(self) -> Sequence[Ace]:
        return [(Allow, Authenticated, START_THREAD), (Deny, Everyone, ALL_PERMISSIONS)]


class ThreadResource(Resource):
    refusals = {DELETE: "Only moderators may delete threads."}

    def __init__(self, thread: Thread) -> None:
        self.thread = thread

    @property
    def __acl__(self) -> Sequence[Ace]:
        return [
            (Allow, MODERATOR, DELETE),
            (Allow, Authenticated, REPLY),
            (Deny, Everyone, ALL_PERMISSIONS),
        ]


class DeferredThreadResource(ThreadResource):
    """``/t/{id}``'s context: the id, with its thread read only when first asked for.

    The thread page reads the thread beside its comments (``forum.parallel``), so
    its context must not read it first. Reading needs no permission, so the ACL
    (the same as any thread's) never needs the row.
    """

    def __init__(self, request: Request, key: str) -> None:
        self.key = key
        self._request = request
        self._thread: Thread | None = None

    @property
    def thread(self) -> Thread:
        if self._thread is None:
            self._thread = existing_thread(
                reading.thread_by_id(self._request.dbsession, self.key), self.key
            )
        return self._thread

    @thread.setter
    def thread(self, value: Thread) -> None:
        self._thread = value


class CommentResource(Resource):
    refusals = {
        EDIT: "Only the comment's author or a moderator may change it.",
        DELETE: "Only the comment's author or a moderator may delete it.",
        MOVE: "Only moderators may move comments.",
    }

    def __init__(self, comment: Comment) -> None:
        self.comment = comment

    @property
    def __acl__(self) -> Sequence[Ace]:
        return [
            (Allow, MODERATOR, (EDIT, DELETE, MOVE)),
            (Allow, f"user:{self.comment.author_id}", (EDIT, DELETE)),
            (Deny, Everyone, ALL_PERMISSIONS),
        ]


# --- route factories (forum.routes) ---------------------------------------------------


def board_factory(request: Request) -> BoardResource:
    slug = request.matchdict["slug"]
    board = reading.board_by_slug(request.dbsession, slug)
    if board is None:
        raise Missing("board", slug)
    return BoardResource(board)


def existing_thread(thread: Thread | None, key: str) -> Thread:
    """``thread``, or the 404 for the thread ``key`` names."""
    if thread is None:
        raise Missing("thread", key)
    return thread


def thread_factory(request: Request) -> ThreadResource:
    key = request.matchdict["id"]
    return ThreadResource(existing_thread(reading.thread_by_id(request.dbsession, key), key))


def thread_page_factory(request: Request) -> DeferredThreadResource:
    """The thread page's context: its view reads the thread (see DeferredThreadResource)."""
    return DeferredThreadResource(request, request.matchdict["id"])


def comment_factory(request: Request) -> CommentResource:
    """The comment; for a signed-in member's write, locked ``FOR UPDATE`` as it is read.

    A write locks the comment it is about to change when it reads it (see
    ``reading.comment_by_id``): read unlocked first and locked later, a change made
    in between would make the version check refuse the write, a retry for nothing.
    A signed-out visitor is refused before the view, so their requests lock nothing.
    """
    key = request.matchdict["id"]
    writes = request.method not in ("GET", "HEAD") and request.identity is not None
    comment = reading.comment_by_id(request.dbsession, key, for_update=writes)
    if comment is None:
        raise Missing("comment", key)
    return CommentResource(comment)


def locked_comment(request: Request) -> Comment:
    """The context's comment, which a signed-in member's write read ``FOR UPDATE``."""
    return request.context.comment


def require(request: Request, permission: str) -> None:
    """Refuse like ``permission=`` does, for a permission that depends on the body (a move)."""
    allowed = request.has_permission(permission)
    if not allowed:
        raise HTTPForbidden(result=allowed)


def refusal(request: Request) -> str:
    """What the refused permission's rule says, for the error answer."""
    result = getattr(request.exception, "result", None)
    permission = getattr(result, "permission", None)
    context = request.context
    if isinstance(context, Resource) and isinstance(permission, str):
        return context.refusal(permission)
    return "You may not do that."
