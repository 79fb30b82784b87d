"""The ``[server:main]`` runner: waitress, on the ini file's address or another port.

``FORUM_PORT`` in the environment (``make run FORUM_PORT=8080``) or
``http_port`` on pserve's command line (``pserve development.ini
http_port=8080``) replaces the port of ``listen`` (the host stays, so the
server still listens on 127.0.0.1 only). Without either, the ini file's
``listen`` is used as written.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any


def port_override(global_conf: Mapping[str, str], environ: Mapping[str, str]) -> str | None:
    """The port asked for (environment first), or None; exits with one line if it is not one."""
    raw = environ.get("FORUM_PORT") or global_conf.get("http_port")
    if not raw:
        return None
    source = "FORUM_PORT" if environ.get("FORUM_PORT") else "http_port"
    if not raw.strip().isdigit() or not 0 < int(raw) < 65536:
        print(f"forum: {source} = {raw!r} is not a port number (1 to 65535)", file=sys.stderr)
        raise SystemExit(2)
    return raw.strip()


def with_port(listen: str, port: str) -> str:
    """Each address of ``listen`` (space-separated host:port) on ``port`` instead."""
    return " ".join(address.rsplit(":", 1)[0] + ":" + port for address in listen.split())


def serve(app: Any, global_conf: Mapping[str, str], **settings: Any) -> int:
    """The paste.server_runner entry point (``use = egg:forum#waitress``)."""
    import waitress

    port = port_override(global_conf, os.environ)
    if port is not None:
        settings["listen"] = with_port(settings.get("listen", "127.0.0.1:6543"), port)
    waitress.serve(app, **settings)
    return 0
