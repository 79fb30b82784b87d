"""forum-user INI add|passwd|disable|enable NAME: manage accounts from the command line.

``add NAME [--moderator]`` creates an account and ``passwd NAME`` sets a new
password; both read the password from standard input: from a terminal it is
asked for twice without echo, otherwise the first line of standard input is
the password (``echo "$PW" | forum-user ...``). ``passwd`` and ``disable`` end
every session of the account; a disabled account cannot sign in until
``enable``.
"""

from __future__ import annotations

import getpass
import sys

from ..services import accounts
from ..services.errors import Conflict, InvalidField, NotFound
from .common import application, ini_parser


def read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != first:
            raise InvalidField("password", "the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def _existing(session, name: str):
    user = accounts.find_user(session, name.strip().lower())
    if user is None:
        raise NotFound(f"there is no account {name!r}")
    return user


def main(argv: list[str] | None = None) -> int:
    parser = ini_parser(__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="create an account (password from stdin)")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--moderator", action="store_true", help="give the account moderator rights")
    for command, text in (
        ("passwd", "set a new password (from stdin); ends every session"),
        ("disable", "refuse sign-in and end every session"),
        ("enable", "allow a disabled account to sign in again"),
    ):
        commands.add_parser(command, help=text).add_argument("name", metavar="NAME")
    args = parser.parse_args(argv)

    try:
        password = read_password() if args.command in ("add", "passwd") else None
        with application(args.config_uri) as env:
            request = env["request"]
            hasher = env["registry"]["password_hasher"]
            with request.tm:
                session = request.dbsession
                if args.command == "add":
                    role = "moderator" if args.moderator else "member"
                    user = accounts.create_user(session, hasher, args.name, password, role)
                    done = f"created {role} {user.username}"
                elif args.command == "passwd":
                    user = _existing(session, args.name)
                    accounts.set_password(session, hasher, user, password)
                    done = f"new password for {user.username}; every session ended"
                else:
                    user = _existing(session, args.name)
                    accounts.set_disabled(session, user, args.command == "disable")
                    done = (
                        f"disabled {user.username}; every session ended"
                        if args.command == "disable"
                        else f"enabled {user.username}"
                    )
    except (InvalidField, Conflict, NotFound) as error:
        print(f"forum-user: {error}", file=sys.stderr)
        return 1
    print(done)
    return 0


if __name__ == "__main__":
    sys.exit(main())
