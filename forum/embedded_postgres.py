"""The embedded PostgreSQL server (pgserver) that ``make run`` and ``make test`` use by default.

Its data lives in ``var/postgres`` of the checkout and it is reached over a Unix
socket, so no system server, root or configuration is needed. pgserver puts the
socket in the data folder when that path is short enough for the Unix limit
(about 107 bytes) and otherwise in a short per-user runtime folder, so the
checkout may live anywhere. Every process that uses the server registers with
it (its pid in ``.handle_pids.json``); the last one to exit stops it, and the
data stays.

A process that dies without running its exit hooks (SIGTERM, SIGHUP when the
terminal closes, SIGKILL) would leave its pid registered for good, and no later
process would ever be "the last" again. So registered pids that are no longer
alive are forgotten before each start and before each exit, SIGTERM and SIGHUP
release the handle before the process dies, and :func:`stop` works from the
postmaster's own ``postmaster.pid``, never from the handle list.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import shutil
import signal
import subprocess
import threading
import time
import warnings
from pathlib import Path

from sqlalchemy.engine import URL, make_url

log = logging.getLogger(__name__)

HANDLES_FILE = ".handle_pids.json"
#: Signals that end a process without running its exit hooks unless handled.
RELEASE_ON = (signal.SIGTERM, signal.SIGHUP)


def _pgserver():
    # pgserver asks platformdirs for a runtime folder at import time; without
    # XDG_RUNTIME_DIR that warns once and falls back to /tmp, which is fine.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver
    return pgserver


def server_url(pgdata: Path, database: str = "postgres") -> URL:
    """Start the embedded server on ``pgdata`` if needed; return a URL for ``database``."""
    pgdata = Path(pgdata).expanduser().resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    pgserver = _pgserver()
    if pgdata.exists():
        with pgserver.PostgresServer._lock:
            forget_dead_handles(pgdata)
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    _release_on_exit_and_signals(server)
    url = make_url(server.get_uri(database=database))
    return url.set(drivername="postgresql+psycopg2")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def registered_handles(pgdata: Path) -> list[int]:
    """The pids registered as using the server on ``pgdata`` (alive or not)."""
    try:
        return [int(pid) for pid in json.loads((Path(pgdata) / HANDLES_FILE).read_text())]
    except (FileNotFoundError, ValueError, TypeError):
        return []


def forget_dead_handles(pgdata: Path) -> list[int]:
    """Drop registered pids whose process is gone; return the ones forgotten.

    Call with pgserver's lock held, as pgserver itself does for the list.
    """
    path = Path(pgdata) / HANDLES_FILE
    pids = registered_handles(pgdata)
    dead = [pid for pid in pids if pid != os.getpid() and not _alive(pid)]
    if dead or (path.exists() and not _readable(path)):  # a write cut short: pgserver chokes
        path.write_text(json.dumps([pid for pid in pids if pid not in dead]))
        log.info("forgot handles of processes that died uncleanly: %s", dead)
    return dead


def _readable(path: Path) -> bool:
    try:
        return isinstance(json.loads(path.read_text()), list)
    except (OSError, ValueError):
        return False


_installed: set[Path] = set()


def _release_on_exit_and_signals(server) -> None:
    """Make this process's exit, SIGTERM and SIGHUP all give the handle back.

    pgserver's own exit hook stops the server when it holds the last handle;
    the hook registered here runs just before it (exit hooks run last-in,
    first-out) and forgets handles of processes that died since we started.
    """
    if server.pgdata in _installed:
        return
    _installed.add(server.pgdata)

    def forget_before_exit() -> None:
        with server._lock:
            forget_dead_handles(server.pgdata)

    atexit.register(forget_before_exit)
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in RELEASE_ON:
        if signal.getsignal(signum) is not signal.SIG_DFL:
            continue  # someone else handles it (a test runner, a reloader): leave it be

        def release_then_die(signum, frame) -> None:
            # A second signal (make passes its own on to its children) must not
            # cut the release short and leave a half-written handle list.
            for other in RELEASE_ON:
                signal.signal(other, signal.SIG_IGN)
            try:
                forget_before_exit()
                server.cleanup()  # stops the server if this was the last handle
            finally:
                signal.signal(signum, signal.SIG_DFL)
                os.kill(os.getpid(), signum)  # die of the signal, as without us

        signal.signal(signum, release_then_die)


def socket_directory(url: URL) -> Path:
    """The folder that holds the server's Unix socket (shown by tools, checked by tests)."""
    return Path(str(url.query["host"]))


def postmaster_pid(pgdata: Path) -> int | None:
    """The running postmaster's pid from its own ``postmaster.pid``, or None if not running."""
    try:
        first_line = (Path(pgdata) / "postmaster.pid").read_text().splitlines()[0]
        pid = int(first_line.strip())
    except (FileNotFoundError, IndexError, ValueError):
        return None
    return pid if _alive(pid) else None


def stop(pgdata: Path, *, delete: bool = False) -> bool:
    """Stop the server running on ``pgdata`` (and delete its data with ``delete``).

    Goes by the data directory (``pg_ctl stop -D``, checked against
    ``postmaster.pid``), whoever started the server and whatever the handle
    list says; the handles are cleared, since no process holds a live server
    any more. Returns True if a running server was stopped.
    """
    pgdata = Path(pgdata).expanduser().resolve()
    if not (pgdata / "PG_VERSION").exists():
        if delete and pgdata.exists():
            shutil.rmtree(pgdata)
        return False
    pgserver = _pgserver()
    stopped = False
    with pgserver.PostgresServer._lock:
        pid = postmaster_pid(pgdata)
        if pid is not None:
            pg_ctl = pgserver.postgres_server.POSTGRES_BIN_PATH / "pg_ctl"
            done = subprocess.run(
                [str(pg_ctl), "stop", "-D", str(pgdata), "-m", "fast", "-w", "-t", "30"],
                capture_output=True,
                text=True,
            )
            if done.returncode != 0 and postmaster_pid(pgdata) == pid:
                os.kill(pid, signal.SIGQUIT)  # immediate shutdown; PostgreSQL recovers on start
                for _ in range(100):
                    if not _alive(pid):
                        break
                    time.sleep(0.1)
            stopped = True
        (pgdata / HANDLES_FILE).unlink(missing_ok=True)
        if delete:
            shutil.rmtree(pgdata)
    return stopped


def main(argv: list[str] | None = None) -> int:
    """``python -m forum.embedded_postgres stop|delete [PGDATA]``: make stop-db and clean-db."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] not in ("stop", "delete"):
        print("usage: python -m forum.embedded_postgres stop|delete [PGDATA]", file=sys.stderr)
        return 2
    pgdata = Path(args[1] if len(args) > 1 else "var/postgres").resolve()
    was_running = stop(pgdata, delete=args[0] == "delete")
    print(f"{'stopped the' if was_running else 'no'} server running on {pgdata}")
    if args[0] == "delete":
        print(f"deleted {pgdata}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
