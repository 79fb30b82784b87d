"""forum-reconcile INI [--fix] [--batch N]: compare every counter with the truth.

Prints each drifted counter (kind, id, column, stored, true) and a summary.
With --fix, repairs them batch by batch, each batch's parent rows locked in id
order so a write racing with the repair is not lost, then invalidates the cached
pages that showed them. Exit status: 0 when there
is no drift or it was fixed, 1 when drift was found and not fixed, 2 on errors.
"""

from __future__ import annotations

import sys

from ..cache.invalidation import scopes_of_rows
from ..reconcile import Drift, reconcile
from .common import application, ini_parser


def main(argv: list[str] | None = None) -> int:
    parser = ini_parser(__doc__.splitlines()[0])
    parser.add_argument("--fix", action="store_true", help="repair the drifted counters")
    parser.add_argument(
        "--batch", type=int, default=1000, metavar="N", help="rows per batch (default 1000)"
    )
    args = parser.parse_args(argv)
    if args.batch < 1:
        parser.error("--batch must be at least 1")

    def show(drift: Drift) -> None:
        print(f"drift: {drift}", flush=True)

    with application(args.config_uri) as env:
        engine = env["registry"]["dbengine"]
        with engine.connect() as connection:
            report = reconcile(connection, fix=args.fix, batch=args.batch, on_drift=show)
            cache = env["registry"].get("cache")
            if cache is not None and report.fixed and report.drift:
                # Repaired counters are committed changes: the pages that show them are stale
                # (with forum.cache_backend = redis, in every web process).
                cache.invalidate(
                    scopes_of_rows(
                        connection,
                        {d.id for d in report.drift if d.kind == "thread"},
                        {d.id for d in report.drift if d.kind == "board"},
                    )
                )
    print(report.summary())
    return 1 if report.drift and not report.fixed else 0


if __name__ == "__main__":
    sys.exit(main())
