"""A private PostgreSQL cluster for the fault tests, which stop and start it at will.

It is pgserver's embedded server on a temporary data folder (never the suite's
shared server), reached over its own Unix socket, migrated to head. Stopping
and starting go through pg_ctl with the options pgserver started it with, so
the socket comes back at the same path.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import URL

from alembic import command
from forum.database import ensure_database
from forum.embedded_postgres import _pgserver, server_url, socket_directory

from .harness import alembic_config

ROOT = Path(__file__).resolve().parent.parent


class PrivateCluster:
    def __init__(self, folder: Path) -> None:
        self.pgdata = (folder / "pgdata").resolve()
        self.url: URL = server_url(self.pgdata, "forum")
        self.server = _pgserver().get_server(self.pgdata)
        self.server.cleanup_mode = "delete"
        ensure_database(self.url)
        engine = create_engine(self.url)
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "head")
        engine.dispose()

    @property
    def url_string(self) -> str:
        return self.url.render_as_string(hide_password=False)

    def _pg_ctl(self, *args: str) -> None:
        from pgserver._commands import pg_ctl

        pg_ctl(list(args), pgdata=self.pgdata, user=self.server.system_user, timeout=60)

    stopped = False

    def stop(self) -> None:
        """Stop now: sessions are ended, transactions in flight roll back."""
        self._pg_ctl("-w", "-m", "fast", "stop")
        self.stopped = True

    def ensure_started(self) -> None:
        """After a test that failed while the cluster was down."""
        if self.stopped:
            self.start()

    def start(self) -> None:
        self.stopped = False
        self._pg_ctl(
            "-w",
            "-o",
            '-h ""',
            "-o",
            f"-k {socket_directory(self.url)}",
            "-l",
            str(self.pgdata / "log"),
            "start",
        )

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        self.server.cleanup()

    def environ(self) -> dict[str, str]:
        return {**os.environ, "FORUM_DATABASE_URL": self.url_string}

    def reconcile(self) -> subprocess.CompletedProcess:
        """The real ``forum-reconcile`` against this cluster."""
        return subprocess.run(
            [sys.executable, "-m", "forum.scripts.reconcile", str(ROOT / "development.ini")],
            capture_output=True,
            text=True,
            env=self.environ(),
            timeout=120,
        )


class WebProcess:
    """``tests.fault_server`` in its own process, on a free loopback port it reports."""

    def __init__(self, cluster: PrivateCluster, log_path: Path, ini: str = "development.ini"):
        self.log = log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.fault_server", str(ROOT / ini)],
            cwd=ROOT,
            env=cluster.environ(),
            stdout=subprocess.PIPE,
            stderr=self.log,
        )
        line = self.process.stdout.readline().decode().strip()
        if not line.isdigit():
            self.kill()
            raise RuntimeError(f"the web process did not start: {log_path.read_text()[-2000:]}")
        self.port = int(line)
        self.base_url = f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as when the machine loses the process."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)
        self.process.stdout.close()
        self.log.close()

    def wait_until_serving(self, timeout: float = 30) -> None:
        import urllib.request

        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(self.base_url + "/api/boards", timeout=5) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.1)
