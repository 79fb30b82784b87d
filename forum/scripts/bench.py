"""forum-bench INI [--quick] [--out DIR] [--only WORKLOAD]: the strategy comparison, measured.

Creates a scratch database beside the configured one (its name + "_bench"),
migrates it, runs every workload under every strategy and peer, alternating,
and writes report.md, report.json and PNG plots to DIR (bench/results/).
With --only search it runs the search workload alone and writes
search-report.md and search-report.json instead (the full report stays);
--only parallel runs serial against parallel page reads into parallel-report.md;
--only cache the read cache workload alone (uncached, memory, Redis:
pages hit and miss, throughput, the write's cost), into cache-report.md and
cache-report.json; --only counters every workload but search (write latency,
statements, batches, concurrency, the read path), into counters-report.md.
The scratch database is dropped afterwards (--keep keeps it).
"""

from __future__ import annotations

import logging
import shlex
import sys
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

from alembic.config import Config
from pyramid.paster import get_appsettings, setup_logging
from sqlalchemy import create_engine

from alembic import command

from ..bench.cache_report import write_cache_report
from ..bench.machine import describe
from ..bench.parallel_report import write_parallel_report
from ..bench.report import write_counters_report, write_report
from ..bench.run import SCALES, run_bench, run_cache_bench, run_search_bench
from ..bench.search_report import write_search_report
from ..bench.workloads.parallel import run_parallel_bench
from ..database import drop_database, ensure_database, resolve_database_url
from ..settings import parse_settings, with_environment
from .common import check_settings, ini_parser


def main(argv: list[str] | None = None) -> int:
    parser = ini_parser(__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: under two minutes")
    parser.add_argument(
        "--tiny",
        action="store_true",
        help="the smallest run that still covers everything (the test suite)",
    )
    parser.add_argument("--out", type=Path, default=Path("bench/results"), metavar="DIR")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument(
        "--only",
        choices=["search", "parallel", "cache", "counters"],
        help="run one workload alone, into its own report "
        "(search-report.md, parallel-report.md, cache-report.md, counters-report.md)",
    )
    args = parser.parse_args(argv)
    scale = SCALES["tiny" if args.tiny else "quick" if args.quick else "full"]

    check_settings(args.config_uri)
    setup_logging(args.config_uri)
    for noisy in ("apscheduler", "forum.search", "pgserver"):  # the report says what matters
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # The naive after_insert recipe loads the thread's comments inside the flush, and
    # SQLAlchemy warns (rightly: it double-counts). The report shows it as drift.
    warnings.filterwarnings("ignore", message="Identity map already had an identity")
    settings = with_environment(get_appsettings(args.config_uri))
    settings["forum.settings"] = parse_settings(settings)
    url = resolve_database_url(settings)
    scratch = url.set(database=f"{url.database}_bench")
    drop_database(scratch)
    ensure_database(scratch)
    engine = create_engine(scratch, pool_size=12, max_overflow=4)
    started = time.monotonic()

    def log(message: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {message}", file=sys.stderr, flush=True)

    try:
        with engine.begin() as connection:
            config = Config(str(Path(args.config_uri).resolve()))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
        log(f"scratch database {scratch.database} ready ({scale.name} scale)")
        if args.only == "parallel":
            from .. import main as build_app

            app_settings = {k: v for k, v in settings.items() if isinstance(v, str)}
            result = run_parallel_bench(engine, scale.name, log, app_settings, build_app)
        elif args.only == "cache":
            result = run_cache_bench(engine, scale, log, dict(get_appsettings(args.config_uri)))
        elif args.only == "search":
            result = run_search_bench(engine, scale, log)
        else:
            result = run_bench(engine, scale, log, search=args.only != "counters")
        result.update(
            command="forum-bench " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:])),
            generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            seconds=time.monotonic() - started,
            machine=describe(engine),
        )
        writer = {
            "search": write_search_report,
            "parallel": write_parallel_report,
            "cache": write_cache_report,
            "counters": write_counters_report,
        }.get(args.only or "", write_report)
        files = writer(result, args.out)
    finally:
        engine.dispose()
        if not args.keep:
            drop_database(scratch)
    log("wrote " + ", ".join(str(f) for f in files))
    return 0


if __name__ == "__main__":
    sys.exit(main())
