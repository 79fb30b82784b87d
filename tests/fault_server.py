"""One forum web process for the fault tests: ``python -m tests.fault_server INI``.

The app is built with the test settings (cheap password hashing) on the database
FORUM_DATABASE_URL names, and served by waitress with the ``[server:main]``
settings of INI (threads, channel_timeout, connection_limit), except that it
listens on a free loopback port, which it prints on the first line of stdout.
"""

from __future__ import annotations

import sys

from plaster import get_settings
from waitress import create_server

from forum import main as forum_app

from .harness import TEST_SETTINGS


def main(ini: str) -> None:
    server_settings = dict(get_settings(ini, "server:main"))
    for name in ("use", "listen", "host", "port"):
        server_settings.pop(name, None)
    app = forum_app({}, **TEST_SETTINGS)
    server = create_server(app, host="127.0.0.1", port=0, **server_settings)
    print(server.effective_port, flush=True)
    server.run()


if __name__ == "__main__":
    main(sys.argv[1])
