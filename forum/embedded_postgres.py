"""The embedded PostgreSQL server (pgserver) that ``make run`` and ``make test`` use by default.

Its data lives in ``var/postgres`` of the checkout and it is reached over a Unix
socket, so no system server, root or configuration is needed. pgserver puts the
socket in the data folder when that path is short enough for the Unix limit
(about 107 bytes) and otherwise in a short per-user runtime folder, so the
checkout may live anywhere. Every process that uses the server registers with
it; the last one to exit stops it, and the data stays.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from sqlalchemy.engine import URL, make_url


def _pgserver():
    # pgserver asks platformdirs for a runtime folder at import time; without
    # XDG_RUNTIME_DIR that warns once and falls back to /tmp, which is fine.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver
    return pgserver


def server_url(pgdata: Path, database: str = "postgres") -> URL:
    """Start the embedded server on ``pgdata`` if needed; return a URL for ``database``."""
    pgdata = Path(pgdata).expanduser().resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = _pgserver().get_server(pgdata, cleanup_mode="stop")
    url = make_url(server.get_uri(database=database))
    return url.set(drivername="postgresql+psycopg2")


def socket_directory(url: URL) -> Path:
    """The folder that holds the server's Unix socket (shown by tools, checked by tests)."""
    return Path(str(url.query["host"]))


def stop(pgdata: Path, *, delete: bool = False) -> None:
    """Stop the embedded server on ``pgdata`` (and delete its data with ``delete``)."""
    pgdata = Path(pgdata).expanduser().resolve()
    if not (pgdata / "PG_VERSION").exists():
        return
    server = _pgserver().get_server(pgdata)
    server.cleanup_mode = "delete" if delete else "stop"  # the handle may be an earlier one
    server.cleanup()
