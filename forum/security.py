"""Who is asking: a signed session cookie, the user it names, and CSRF protection.

What they may do is the context's ACL (``forum.authorization``), which ``permits`` reads.

The cookie holds only the user's id, the user's session generation at sign-in
and the CSRF token, signed with
``forum.session_secret``; it is HttpOnly, SameSite=Lax, and Secure when
``forum.session_secure`` is on (production.ini). Every POST, PATCH and DELETE
must carry the session's CSRF token (``X-CSRF-Token`` header for the API),
except the two that create a session, which accept JSON only.

A cookie is only as good as its generation: each request compares it with the
user's ``session_generation``, which sign-out everywhere, a password change and
disabling the account bump. A cookie from before (a copied one, another
browser's) then gets exactly what a signed-out visitor gets, and is dropped.
"""

from __future__ import annotations

from pyramid.authorization import ACLHelper
from pyramid.config import Configurator
from pyramid.csrf import SessionCSRFStoragePolicy
from pyramid.request import Request
from pyramid.security import Allowed, Denied
from pyramid.session import SignedCookieSessionFactory

from .authorization import principals
from .models import User
from .passwords import PasswordHasher

SESSION_LIFETIME = 14 * 24 * 3600  # two weeks of inactivity signs you out


_IDENTITY = "forum.identity"


class SessionSecurityPolicy:
    """Identity is the user whose id the signed session cookie holds."""

    def identity(self, request: Request) -> User | None:
        """The signed-in user, read once per request: Pyramid asks for the identity for
        every permission check and every ``request.identity``, and the session's identity
        map holds its objects weakly, so without this each ask could be a SELECT."""
        if _IDENTITY not in request.__dict__:
            request.__dict__[_IDENTITY] = self._identity(request)
        return request.__dict__[_IDENTITY]

    def _identity(self, request: Request) -> User | None:
        user_id = request.session.get("user_id")
        if user_id is None:
            return None
        # Always from the database, every column: a list may have loaded this member as
        # an author with their name only (forum.services.reading), from the cache even.
        user = request.dbsession.get(User, user_id, populate_existing=True)
        if (
            user is None
            or user.is_disabled
            or request.session.get("generation") != user.session_generation
        ):
            request.session.invalidate()  # revoked: treated (and left) as signed out
            return None
        return user

    def authenticated_userid(self, request: Request) -> int | None:
        user = request.identity
        return None if user is None else user.id

    def permits(self, request: Request, context: object, permission: str) -> Allowed | Denied:
        """The context's ACL (forum.authorization) for the API and the pages alike."""
        return ACLHelper().permits(context, principals(request.identity), permission)

    def remember(self, request: Request, userid: int, **kw: object) -> list:
        # A fresh session on sign-in: the old session id and token cannot be fixed in advance.
        user = request.dbsession.get(User, userid)
        request.__dict__.pop(_IDENTITY, None)  # whoever asks next gets the new identity
        request.session.invalidate()
        request.session["user_id"] = userid
        request.session["generation"] = user.session_generation
        request.session.new_csrf_token()
        return []

    def forget(self, request: Request, **kw: object) -> list:
        request.__dict__.pop(_IDENTITY, None)
        request.session.invalidate()
        return []


def includeme(config: Configurator) -> None:
    settings = config.registry.settings["forum.settings"]
    config.set_session_factory(
        SignedCookieSessionFactory(
            settings.session_secret,
            cookie_name="forum_session",
            httponly=True,
            samesite="Lax",
            secure=settings.session_secure,
            timeout=SESSION_LIFETIME,
            max_age=SESSION_LIFETIME,
        )
    )
    config.set_security_policy(SessionSecurityPolicy())
    config.set_csrf_storage_policy(SessionCSRFStoragePolicy())
    config.set_default_csrf_options(require_csrf=True, header="X-CSRF-Token", token="csrf_token")
    config.registry["password_hasher"] = PasswordHasher(
        time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_cost
    )
