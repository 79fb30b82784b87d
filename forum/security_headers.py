"""Security headers on every response: pages, the API, error pages and static files.

One tween at the very top of the chain adds them, so nothing (an exception view,
the static view, a 404, a response a view built by hand) can answer without
them. The policy allows scripts, styles, images and fonts from the forum itself
only and no inline script or style at all, so an injected ``<script>`` or
``style=`` attribute does nothing even if escaping ever failed.
``Strict-Transport-Security`` is sent only when ``forum.strict_transport_security``
is set (production.ini): over plain HTTP in development it would pin the
browser to an HTTPS that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable

from pyramid.config import Configurator
from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.response import Response
from pyramid.tweens import INGRESS

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}

#: The development toolbar's own pages use inline script; they exist only in development.ini.
EXEMPT_PREFIX = "/_debug_toolbar/"


def security_headers_tween_factory(
    handler: Callable[[Request], Response], registry: Registry
) -> Callable[[Request], Response]:
    headers = dict(HEADERS)
    hsts = registry.settings["forum.settings"].strict_transport_security
    if hsts:
        headers["Strict-Transport-Security"] = hsts

    def security_headers_tween(request: Request) -> Response:
        response = handler(request)
        if not request.path_info.startswith(EXEMPT_PREFIX):
            for name, value in headers.items():
                response.headers.setdefault(name, value)
        return response

    return security_headers_tween


def includeme(config: Configurator) -> None:
    config.add_tween("forum.security_headers.security_headers_tween_factory", under=INGRESS)
