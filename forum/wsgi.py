"""WSGI wrapping around the Pyramid app."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any


def close_spooled_bodies(app: Callable) -> Callable:
    """Close the temporary file WebOb spools a large request body into.

    pyramid_retry makes every request body seekable so a retried request can
    read it again; WebOb keeps bodies over 10 KiB in a temporary file that
    nothing closes. Closing it once the whole request (every attempt) is done
    returns the file descriptor at once instead of at garbage collection.
    """

    def wrapped(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        original = environ.get("wsgi.input")
        try:
            return app(environ, start_response)
        finally:
            spooled = environ.get("wsgi.input")
            if spooled is not original and spooled is not None and hasattr(spooled, "close"):
                spooled.close()

    # as on the Router (tests, bootstrap)
    wrapped.registry = getattr(app, "registry", None)  # type: ignore[attr-defined]
    return wrapped
