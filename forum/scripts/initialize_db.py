"""forum-initialize-db INI: create the database if needed, migrate it to head, load demo data once.

``make run`` calls this before serving. Safe to run again: migrations that
are applied are skipped, and the demo data goes only into an empty forum.
"""

from __future__ import annotations

import sys
from pathlib import Path

from alembic.config import Config
from pyramid.paster import get_appsettings, setup_logging

from alembic import command

from ..database import ensure_database, resolve_database_url
from ..demo import load_demo_data
from ..settings import with_environment
from .common import application, check_settings, ini_parser


def migrate(config_uri: str) -> None:
    """``alembic upgrade head`` with the ini file's [alembic] section."""
    config = Config(str(Path(config_uri).resolve()))
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")


def main(argv: list[str] | None = None) -> int:
    parser = ini_parser(__doc__.splitlines()[0])
    parser.add_argument("--no-demo", action="store_true", help="do not load the demo data")
    args = parser.parse_args(argv)

    check_settings(args.config_uri)  # before any migration: a typo stops here, in one line
    setup_logging(args.config_uri)
    url = resolve_database_url(with_environment(get_appsettings(args.config_uri)))
    if ensure_database(url):
        print(f"created database {url.database}")
    migrate(args.config_uri)
    print("database migrated to head")
    if args.no_demo:
        return 0
    with application(args.config_uri) as env:
        request = env["request"]
        with request.tm:
            added = load_demo_data(request.dbsession, env["registry"]["password_hasher"])
    print("loaded the demo data" if added else "demo data already present (or forum not empty)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
