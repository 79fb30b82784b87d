"""forum-search-refresh INI: refresh the materialized search view now.

Waits for a refresh another process is running, then refreshes until the view
holds every committed change. Prints what it did and the view's state.
"""

from __future__ import annotations

import sys
import time

from ..search.refresh import refresh_status, refresh_until_fresh
from .common import application, ini_parser


def main(argv: list[str] | None = None) -> int:
    parser = ini_parser(__doc__.splitlines()[0])
    parser.add_argument(
        "--wait",
        type=float,
        default=600,
        metavar="SECONDS",
        help="how long to wait for a refresh another process holds (600)",
    )
    args = parser.parse_args(argv)
    with application(args.config_uri) as env:
        engine = env["registry"]["dbengine"]
        deadline = time.monotonic() + args.wait
        while True:
            report = refresh_until_fresh(engine, force=True)
            if not report.skipped or time.monotonic() > deadline:
                break
            time.sleep(0.5)  # another process is refreshing; it will see our change
        with engine.connect() as connection:
            status = refresh_status(connection)
    if report.skipped:
        print("another process is refreshing the search view; try again later")
        return 1
    print(
        f"refreshed the search view {report.refreshes} time(s) in {report.seconds:.2f}s; "
        f"generation {status['generation']}, {'fresh' if status['fresh'] else 'stale'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
