"""forum-seed INI --threads N --comments M [--boards B] [--hot-thread K]: bulk-load synthetic data.

Threads get an opening post each; with --hot-thread K, K threads share half
of the other comments between them (very long threads); the rest spread with
a heavy tail. Rows go in with COPY from parallel workers, then every counter
is set in one set-based pass: forum-reconcile finds no drift afterwards.
"""

from __future__ import annotations

import sys

from tqdm import tqdm

from ..search.refresh import refresh_until_fresh
from ..seeding.load import SeedPlan, analyze, seed
from .common import application, ini_parser


def main(argv: list[str] | None = None) -> int:
    parser = ini_parser(__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, required=True, metavar="N")
    parser.add_argument("--comments", type=int, required=True, metavar="M")
    parser.add_argument("--boards", type=int, default=5, metavar="B")
    parser.add_argument(
        "--hot-thread",
        type=int,
        default=0,
        metavar="K",
        help="K very long threads sharing half of the comments",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    args = parser.parse_args(argv)
    if args.threads < 1 or args.comments < 0 or args.boards < 1 or args.hot_thread < 0:
        parser.error(
            "--threads and --boards must be at least 1; --comments, --hot-thread 0 or more"
        )
    if args.hot_thread > args.threads:
        parser.error("--hot-thread cannot be more than --threads")

    plan = SeedPlan(
        threads=args.threads,
        comments=args.comments,
        boards=args.boards,
        hot_threads=args.hot_thread,
        seed=args.seed,
    )
    with application(args.config_uri) as env:
        engine = env["registry"]["dbengine"]
        settings = env["registry"].settings["forum.settings"]
        with tqdm(
            total=plan.comments, unit=" comments", unit_scale=True, file=sys.stderr, disable=None
        ) as bar:

            def progress(done: int, total: int) -> None:
                bar.update(done - bar.n)

            report = seed(engine, plan, progress)
        analyze(engine)
        refreshed = ""
        if settings.search_view == "materialized":
            outcome = refresh_until_fresh(engine)
            refreshed = f"; search view refreshed in {outcome.seconds:.1f}s"
    print(
        f"seeded {report.boards} boards, {report.users} users, {report.threads} threads, "
        f"{report.comments} comments ({report.words} words) in {report.seconds:.1f}s{refreshed}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
