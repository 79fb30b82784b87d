"""forum-user INI add NAME [--moderator]: create an account; the password comes from stdin.

From a terminal the password is asked for twice without echo; otherwise the
first line of standard input is the password (``echo "$PW" | forum-user ...``).
"""

from __future__ import annotations

import getpass
import sys

from ..services import accounts
from ..services.errors import Conflict, InvalidField
from .common import application, ini_parser


def read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != first:
            raise InvalidField("password", "the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def main(argv: list[str] | None = None) -> int:
    parser = ini_parser(__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="create an account")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--moderator", action="store_true", help="give the account moderator rights")
    args = parser.parse_args(argv)

    role = "moderator" if args.moderator else "member"
    try:
        password = read_password()
        with application(args.config_uri) as env:
            request = env["request"]
            with request.tm:
                user = accounts.create_user(
                    request.dbsession, env["registry"]["password_hasher"], args.name, password, role
                )
                username = user.username
    except (InvalidField, Conflict) as error:
        print(f"forum-user: {error}", file=sys.stderr)
        return 1
    print(f"created {role} {username}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
