"""Child processes for ``forum-cluster``: started, watched, restarted, stopped.

A small supervisor of our own rather than systemd or supervisord: it needs
nothing installed, runs as the developer, and dies with its terminal. Each
child gets its own log file and process group, so stopping one stops whatever
it started (a Celery worker's pool, say), and nothing else.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path

#: A child that keeps dying is restarted at most this often.
RESTART_PAUSE_SECONDS = 1.0


def free_port() -> int:
    """A TCP port on the loopback address that nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(ready: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not come up within {timeout:.0f} s")
        time.sleep(0.1)


def answers(url: str) -> bool:
    """True once ``url`` answers an HTTP GET with a 2xx."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return 200 <= response.status < 300
    except OSError:
        return False


def redis_answers(port: int) -> bool:
    """True once a Redis on the loopback ``port`` answers PING (no client library needed)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class Child:
    """One supervised command; ``ready_url`` (if any) answers once it serves."""

    def __init__(
        self,
        name: str,
        command: list[str],
        env: Mapping[str, str],
        log_path: Path,
        ready_url: str | None = None,
    ) -> None:
        self.name = name
        self.command = command
        self.env = dict(env)
        self.log_path = log_path
        self.ready_url = ready_url
        self.process: subprocess.Popen | None = None
        self.restarts = 0
        self._last_start = 0.0

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self) -> None:
        self._last_start = time.monotonic()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop() reaches its children
            )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_ready(self, timeout: float = 60) -> None:
        def ready() -> bool:
            if not self.alive():
                tail = self.log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{self.name} exited while starting:\n{tail}")
            return self.ready_url is None or answers(self.ready_url)

        wait_until(ready, timeout, self.name)

    def restart_if_dead(self, log: Callable[[str], None]) -> None:
        """Start it again if it died (not more than once a RESTART_PAUSE_SECONDS)."""
        if self.alive() or self.process is None:
            return
        if time.monotonic() - self._last_start < RESTART_PAUSE_SECONDS:
            return
        log(f"{self.name} (pid {self.pid}) exited with {self.process.returncode}: restarting")
        self.restarts += 1
        self.start()

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM to its process group, SIGKILL after ``timeout``."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=timeout)
        except ProcessLookupError:
            pass
