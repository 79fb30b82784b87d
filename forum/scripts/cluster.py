"""forum-cluster INI [--web N] [--port P]: the forum as deployed on one machine (`make cluster`).

Starts, and watches until Ctrl-C or SIGTERM:

- N waitress processes (``pserve INI``, default 2), each on a loopback port of its own;
- HAProxy on ``127.0.0.1:P`` (default 6543) spreading requests over them
  (round robin, health-checked each second; a process that stops answering is
  taken out until it answers again), with an ``X-Forum-Backend`` header naming the
  process that answered;
- Redis, for the cache (``FORUM_CACHE_BACKEND=redis``) and the Celery broker
  (a private ``redis-server`` on a free port, unless ``--redis-url`` names one);
- a Celery worker (``celery -A forum.tasks worker -B``) refreshing the
  materialized search view after commits, and the periodic safety refresh;

all on the PostgreSQL ``FORUM_DATABASE_URL`` names (else the ini's, else the
embedded one, which this process keeps running), migrated first. A child that
dies is started again. Logs go to ``var/cluster/logs/``; ``--state FILE`` writes
the addresses and process ids as JSON once everything answers.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from pyramid.paster import get_appsettings

from ..database import resolve_database_url
from ..settings import with_environment
from .common import check_settings, ini_parser
from .processes import Child, free_port, redis_answers, wait_until

BIN = Path(sys.executable).parent


def haproxy_config(port: int, web_ports: list[int]) -> str:
    """HAProxy in front of the web processes: HTTP, round robin, health-checked.

    Reads and writes go to the same processes through two backends that differ in
    one thing: a read whose process died before answering is sent again to
    another (``empty-response``), a write is not (it may have committed: only
    its answer can say, so the client gets the 502 and checks). Both retry a
    connection that never reached a process, which is always safe.
    """
    names = [f"web{n}" for n in range(1, len(web_ports) + 1)]
    checked = "\n".join(
        f"    server {name} 127.0.0.1:{p} check inter 1s fall 2 rise 1"
        for name, p in zip(names, web_ports, strict=True)
    )
    tracked = "\n".join(
        f"    server {name} 127.0.0.1:{p} track web/{name}"
        for name, p in zip(names, web_ports, strict=True)
    )
    return f"""# Written by forum-cluster; rewritten at every start.
global
    maxconn 2000

defaults
    mode http
    option forwardfor
    option http-server-close
    retries 2
    option redispatch 1
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-request 30s

frontend forum
    bind 127.0.0.1:{port}
    use_backend reads if METH_GET
    default_backend web

backend web
    balance roundrobin
    option httpchk GET /static/forum.css
    http-check expect status 200
    http-response set-header X-Forum-Backend %[srv_name]
{checked}

backend reads
    balance roundrobin
    retry-on conn-failure empty-response
    http-response set-header X-Forum-Backend %[srv_name]
{tracked}
"""


def redis_command(port: int, folder: Path) -> list[str]:
    """A private, memory-only Redis: the broker's queue and the cache need no persistence."""
    server = require("redis-server")
    return [server, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--dir", str(folder)]


def celery_command(schedule: Path) -> list[str]:
    """One worker process (refreshes collapse into one anyway) with beat for the safety run."""
    celery = str(BIN / "celery")
    return [celery, "-A", "forum.tasks", "worker", "-B", "--concurrency", "1", "-s", str(schedule)]


def session_secret(folder: Path) -> str:
    """FORUM_SESSION_SECRET, else one made once and kept in ``folder`` (shared by all)."""
    given = os.environ.get("FORUM_SESSION_SECRET")
    if given:
        return given
    path = folder / "session_secret"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def require(program: str) -> str:
    found = shutil.which(program)
    if found is None:
        print(
            f"forum-cluster: {program} is not installed; `make cluster` installs it "
            f"(apt-get install {program})",
            file=sys.stderr,
        )
        raise SystemExit(2)
    return found


class Cluster:
    """The children, in start order; stopped in reverse."""

    def __init__(self) -> None:
        self.children: list[Child] = []

    def add(self, child: Child) -> Child:
        self.children.append(child)
        child.start()
        return child

    def stop(self) -> None:
        for child in reversed(self.children):
            child.stop()


def say(message: str) -> None:
    print(f"forum-cluster: {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = ini_parser(__doc__.splitlines()[0])
    parser.add_argument("--web", type=int, default=2, metavar="N", help="web processes (2)")
    parser.add_argument("--port", type=int, default=6543, help="the balancer's port (6543)")
    parser.add_argument("--redis-url", help="use this Redis instead of starting one")
    parser.add_argument("--folder", type=Path, default=Path("var/cluster"), metavar="DIR")
    parser.add_argument("--state", type=Path, metavar="FILE", help="write ports and pids here")
    args = parser.parse_args(argv)
    if args.web < 1:
        parser.error("--web must be at least 1")
    ini = str(Path(args.config_uri).resolve())

    logs = args.folder / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    # Before the settings are checked: cluster.ini leaves the secret to the environment.
    os.environ["FORUM_SESSION_SECRET"] = session_secret(args.folder)
    check_settings(ini)
    haproxy = require("haproxy")

    # The database first: migrated, demo data once (an empty forum only).
    url = resolve_database_url(with_environment(get_appsettings(ini)))
    database_url = url.render_as_string(hide_password=False)
    env = {**os.environ, "FORUM_DATABASE_URL": database_url}
    init = Child(
        "forum-initialize-db", [str(BIN / "forum-initialize-db"), ini], env, logs / "init.log"
    )
    init.start()
    assert init.process is not None
    if init.process.wait() != 0:
        say(f"forum-initialize-db failed; see {init.log_path}")
        return 1

    cluster = Cluster()
    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    try:
        broker_url = cache_url = args.redis_url
        if args.redis_url is None:
            redis_port = free_port()
            (args.folder / "redis").mkdir(exist_ok=True)
            cluster.add(
                Child(
                    "redis",
                    redis_command(redis_port, args.folder / "redis"),
                    env,
                    logs / "redis.log",
                )
            )
            # The broker's queue and the cache in two databases: neither can flush the other.
            broker_url = f"redis://127.0.0.1:{redis_port}/0"
            cache_url = f"redis://127.0.0.1:{redis_port}/1"
            wait_until(lambda: redis_answers(redis_port), 30, "redis-server")

        env.update(
            FORUM_INI=ini,
            FORUM_SEARCH_VIEW="materialized",
            FORUM_SEARCH_REFRESH="celery",
            FORUM_CELERY_BROKER_URL=broker_url,
            # The cache (forum.cache) on the same Redis: every process sees one cache, and
            # the invalidations of all. (An app without forum.cache ignores both.)
            FORUM_CACHE_BACKEND="redis",
            FORUM_CACHE_URL=cache_url,
        )
        worker = cluster.add(
            Child(
                "celery",
                celery_command(args.folder / "celerybeat-schedule"),
                env,
                logs / "celery.log",
            )
        )
        webs = []
        for n in range(1, args.web + 1):
            port = free_port()
            webs.append(
                cluster.add(
                    Child(
                        f"web{n}",
                        [str(BIN / "pserve"), ini],
                        {**env, "FORUM_PORT": str(port)},
                        logs / f"web{n}.log",
                        ready_url=f"http://127.0.0.1:{port}/api/boards",
                    )
                )
            )
        web_ports = [int(w.env["FORUM_PORT"]) for w in webs]
        config = args.folder / "haproxy.cfg"
        config.write_text(haproxy_config(args.port, web_ports))
        balancer = cluster.add(
            Child(
                "haproxy",
                [haproxy, "-db", "-f", str(config)],
                env,
                logs / "haproxy.log",
                ready_url=f"http://127.0.0.1:{args.port}/api/boards",
            )
        )
        for child in (*webs, balancer):
            child.wait_ready()
        worker.wait_ready(timeout=5)  # alive; it connects to Redis on its own
        state = {
            "url": f"http://127.0.0.1:{args.port}",
            "web": {w.name: {"port": int(w.env["FORUM_PORT"]), "pid": w.pid} for w in webs},
            "broker_url": broker_url,
            "cache_url": cache_url,
            "database_url": url.render_as_string(hide_password=True),
            "pids": {c.name: c.pid for c in cluster.children},
        }
        if args.state:
            args.state.write_text(json.dumps(state, indent=2))
        say(f"serving on {state['url']} with {args.web} web processes; Ctrl-C stops it")
        for name, web in state["web"].items():
            say(f"  {name}: http://127.0.0.1:{web['port']} (pid {web['pid']})")
        say(f"  logs in {logs}/")
        while not stopping:
            for child in cluster.children:
                child.restart_if_dead(say)
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    except (RuntimeError, TimeoutError) as error:  # a child that would not start: say which
        say(f"{error} (logs in {logs}/)")
        return 1
    finally:
        say("stopping")
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
