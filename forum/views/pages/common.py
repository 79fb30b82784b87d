"""What every page shares: template globals, paging links, sign-in and permission checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pyramid.csrf import get_csrf_token
from pyramid.events import BeforeRender, subscriber
from pyramid.httpexceptions import HTTPBadRequest, HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from sqlalchemy.exc import SQLAlchemyError

from ... import counting
from ...models import User
from ...pagination import InvalidCursor, decode_cursor
from ...services.reading import Key, PageRequest

#: Comments (or threads) per page.
PAGE_SIZE = 50


class LazyCsrfToken:
    """The session's CSRF token, created only if a template actually prints it.

    So a visitor who only reads gets no session cookie at all.
    """

    def __init__(self, request: Request) -> None:
        self.request = request

    def __str__(self) -> str:
        return get_csrf_token(self.request)

    def __html__(self) -> str:
        return str(self)


@dataclass(frozen=True)
class SignedIn:
    """What a page shows of the signed-in user: a plain copy, safe after a failed flush."""

    id: int
    username: str
    is_moderator: bool


def current_user(request: Request) -> SignedIn | None:
    try:
        user = request.identity
        return None if user is None else SignedIn(user.id, user.username, user.is_moderator)
    except SQLAlchemyError:  # an error page after the request's session failed
        return None


@subscriber(BeforeRender)
def template_globals(event: BeforeRender) -> None:
    request = event.get("request")
    if request is None or event.get("plain") or event.get("renderer_name") == "json":
        return  # JSON answers show no page chrome (and must not eat a page's flash messages)
    event.setdefault("current_user", current_user(request))
    event.setdefault("csrf_token", LazyCsrfToken(request))
    strategy = counting.active(request.registry["dbsession_factory"])
    event.setdefault("counter_strategy", strategy.name if strategy else "none")
    event.setdefault("flash_messages", request.session.pop_flash())
    event.setdefault("errors", {})
    event.setdefault("values", {})


def plural(count: int, noun: str) -> str:
    """``noun`` for 1, ``noun + "s"`` otherwise (the forum's nouns are all regular)."""
    return noun if count == 1 else noun + "s"


def page_request(request: Request, limit: int = PAGE_SIZE) -> PageRequest:
    """``?after=``, ``?before=``, ``?at=`` or ``?last=1`` from the query string."""

    def key(name: str) -> Key | None:
        raw = request.GET.get(name)
        if not raw:
            return None
        try:
            return decode_cursor(raw)
        except InvalidCursor:
            raise HTTPBadRequest(
                "That page link is broken; start again from the first page."
            ) from None

    return PageRequest(
        limit=limit,
        after=key("after"),
        before=key("before"),
        at=key("at"),
        last=request.GET.get("last") == "1",
    )


def found_or_404(value: Any, what: str) -> Any:
    if value is None:
        raise HTTPNotFound(f"There is no such {what}. It may have been deleted.")
    return value


def sign_in_first(request: Request) -> HTTPSeeOther:
    """To the sign-in page, which comes back here (or to the page a form was on)."""
    request.session.flash("Please sign in first.")
    if request.method == "POST":  # go back to the page the form was on
        back = local_path(request.referer, host=request.host)
    else:
        back = request.path_qs
    return HTTPSeeOther(request.route_path("login", _query={"next": back}))


def signed_in(request: Request) -> User:
    """The signed-in user, or a redirect to the sign-in page that comes back here.

    For pages about one's own account; what a member may do to boards, threads and
    comments is the ``permission=`` of their views (forum.authorization).
    """
    user = request.identity
    if user is None:
        raise sign_in_first(request)
    return user


def local_path(url: str | None, host: str | None = None) -> str:
    """A path on this site to go back to after signing in; "/" for anything else.

    Relative paths are kept; an absolute URL only when it names ``host`` (this
    site, from a Referer); another site, a scheme trick or ``//host`` never.
    """
    if not url:
        return "/"
    parts = urlsplit(url)
    if (parts.scheme or parts.netloc) and (host is None or parts.netloc != host):
        return "/"
    if parts.scheme not in ("", "http", "https"):
        return "/"
    path = parts.path or "/"
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path + (f"?{parts.query}" if parts.query else "")


def form_error(
    request: Request,
    field: str,
    message: str,
    *,
    status: int = 422,
    keep_changes: bool = False,
    **context: Any,
) -> dict[str, Any]:
    """Render the form again: what the user typed, the message by the field, status 422.

    The transaction is doomed, so whatever the view did before the refusal is
    rolled back: a refused form changes nothing. ``keep_changes`` is for the one
    refusal that must write: a failed sign-in records itself for throttling.
    """
    return form_errors(
        request, {field: message}, status=status, keep_changes=keep_changes, **context
    )


def form_errors(
    request: Request,
    errors: dict[str, str],
    *,
    status: int = 422,
    keep_changes: bool = False,
    **context: Any,
) -> dict[str, Any]:
    """Like ``form_error``, with every field's message at once (each by its field)."""
    if not keep_changes:
        request.tm.doom()
    request.response.status_int = status
    values = {
        name: value.replace("\x00", "")  # a NUL cannot be shown back
        for name, value in request.POST.items()
        if "password" not in name  # never echo a password
    }
    return {**context, "errors": dict(errors), "values": values}
