"""Reading what an API client sent: the JSON body, paging parameters, who is signed in."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any, TypeVar

from pyramid.request import Request
from pyramid.response import Response

from ...models import User
from ...pagination import InvalidCursor, decode_cursor
from ...services.reading import PageRequest
from .errors import ApiError

DEFAULT_PAGE_SIZE = 50
T = TypeVar("T")


def body_limit(request: Request) -> int:
    """Bytes a JSON body may have: room for the longest message in 4-byte characters."""
    return max_message_chars(request) * 4 + 16 * 1024


def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object, or an ApiError saying exactly what is wrong with it."""
    limit = body_limit(request)
    if (request.content_length or 0) > limit:
        raise ApiError(413, "too_large", f"the body is larger than {limit} bytes")
    if request.content_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    raw = request.body
    if len(raw) > limit:
        raise ApiError(413, "too_large", f"the body is larger than {limit} bytes")
    try:
        body = json.loads(raw.decode(request.charset or "utf-8"))
    except (UnicodeDecodeError, LookupError):
        raise ApiError(400, "malformed", "the body is not valid UTF-8") from None
    except (ValueError, RecursionError):
        raise ApiError(400, "malformed", "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "malformed", "the body must be a JSON object")
    try:  # "\ud800" is valid JSON but no text: nothing could store or hash it
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(
            400, "malformed", "the body holds text that is not Unicode (a lone surrogate)"
        ) from None
    return body


def or_404(found: T | None, what: str, key: str) -> T:
    """``found``, or a 404 naming what was asked for."""
    if found is None:
        raise ApiError(404, "not_found", f"no {what} {key!r}")
    return found


def max_message_chars(request: Request) -> int:
    return request.registry.settings["forum.settings"].max_message_chars


def page_size(request: Request) -> int:
    maximum = request.registry.settings["forum.settings"].page_size_limit
    raw = request.GET.get("limit")
    if raw is None or raw == "":
        return min(DEFAULT_PAGE_SIZE, maximum)
    if not raw.isdigit() or int(raw) < 1:
        raise ApiError(422, "invalid", f"limit must be a whole number from 1 to {maximum}")
    return min(int(raw), maximum)


def page_after(request: Request) -> tuple[datetime, uuid.UUID] | None:
    raw = request.GET.get("after")
    if not raw:
        return None
    try:
        return decode_cursor(raw)
    except InvalidCursor as error:
        raise ApiError(400, "malformed", f"after: {error}") from None


def page_request(request: Request) -> PageRequest:
    """``?after=&limit=``: the API pages forward only, from the cursor it handed out."""
    return PageRequest(limit=page_size(request), after=page_after(request))


def signed_in(request: Request) -> User:
    """The signed-in user, for requests about one's own account (sign out everywhere).

    What a member may do to boards, threads and comments is the ``permission=`` of
    their views (forum.authorization).
    """
    user = request.identity
    if user is None:
        raise ApiError(401, "not_signed_in", "sign in first (POST /api/session)")
    return user


def no_content(request: Request) -> Response:
    """204 with no body and no Content-Type (the session cookie, if any, still goes out)."""
    response = request.response
    response.status_int = 204
    response.content_type = None
    return response
