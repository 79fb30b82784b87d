"""The embedded server: wherever the checkout lives, and after any kind of exit.

Every test here uses its own data folder under tmp_path, never var/postgres.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from forum.embedded_postgres import (
    postmaster_pid,
    registered_handles,
    server_url,
    socket_directory,
    stop,
)

UNIX_SOCKET_PATH_LIMIT = 107  # sun_path is 108 bytes on Linux, including the final NUL


def test_socket_path_stays_short_for_a_deep_checkout(tmp_path: Path):
    pgdata = tmp_path / ("a-long-folder-name-for-a-checkout-" * 4) / "var" / "postgres"
    assert len(str(pgdata / ".s.PGSQL.5432")) > UNIX_SOCKET_PATH_LIMIT
    pgdata.parent.mkdir(parents=True)
    url = server_url(pgdata)
    try:
        socket = socket_directory(url) / ".s.PGSQL.5432"
        assert len(str(socket)) <= UNIX_SOCKET_PATH_LIMIT
        engine = create_engine(url)
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT current_setting('data_directory')")) == str(
                pgdata.resolve()
            )
        engine.dispose()
    finally:
        stop(pgdata, delete=True)
    assert not pgdata.exists()


# --- Unclean exits: SIGTERM, SIGHUP, SIGKILL. Each test has its own data folder. ---

HOLDER = """
import sys, time
from forum.embedded_postgres import server_url
server_url(sys.argv[1])
print("ready", flush=True)
time.sleep(120)
"""


_started: list[subprocess.Popen] = []


def start_holder(pgdata: Path) -> subprocess.Popen:
    """A process that starts the server on ``pgdata``, holds a handle and waits."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(pgdata)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _started.append(holder)
    ready = holder.stdout.readline().strip()
    holder.stdout.close()
    if ready != "ready":
        holder.wait(timeout=60)
        raise AssertionError(f"the holder did not start the server: {holder.stderr.read()}")
    holder.stderr.close()
    return holder


def wait_until(condition, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


@pytest.fixture
def pgdata(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "pg"
    yield folder
    while _started:  # a test that failed half-way leaves no process behind
        holder = _started.pop()
        if holder.poll() is None:
            holder.kill()
        holder.wait(timeout=30)
        for stream in (holder.stdout, holder.stderr):
            stream.close()
    stop(folder, delete=True)  # whatever a test left running


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_signal_releases_the_handle_and_stops_the_server(pgdata: Path, signum: int):
    holder = start_holder(pgdata)
    postmaster = postmaster_pid(pgdata)
    assert postmaster is not None
    assert registered_handles(pgdata) == [holder.pid]

    holder.send_signal(signum)
    assert holder.wait(timeout=30) == -signum  # still dies of the signal
    assert wait_until(lambda: postmaster_pid(pgdata) is None)
    assert registered_handles(pgdata) == []


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_signal_keeps_the_server_for_the_other_holders(pgdata: Path, signum: int):
    first, second = start_holder(pgdata), start_holder(pgdata)
    postmaster = postmaster_pid(pgdata)
    first.send_signal(signum)
    first.wait(timeout=30)
    assert postmaster_pid(pgdata) == postmaster  # the second still uses it
    assert registered_handles(pgdata) == [second.pid]
    second.send_signal(signum)
    second.wait(timeout=30)
    assert wait_until(lambda: postmaster_pid(pgdata) is None)


def test_a_stale_handle_is_forgotten_so_the_last_exit_stops_the_server(pgdata: Path):
    killed = start_holder(pgdata)
    killed.kill()  # SIGKILL: no hook runs, the pid stays registered
    killed.wait(timeout=30)
    assert registered_handles(pgdata) == [killed.pid]
    postmaster = postmaster_pid(pgdata)
    assert postmaster is not None

    later = subprocess.run(
        [sys.executable, "-c", HOLDER.replace("time.sleep(120)", ""), str(pgdata)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert later.returncode == 0, later.stderr
    assert wait_until(lambda: postmaster_pid(pgdata) is None)
    assert registered_handles(pgdata) == []


def test_stop_goes_by_the_data_folder_whatever_the_handles_say(pgdata: Path):
    killed = start_holder(pgdata)
    killed.kill()
    killed.wait(timeout=30)
    assert postmaster_pid(pgdata) is not None

    assert stop(pgdata) is True
    assert postmaster_pid(pgdata) is None
    assert registered_handles(pgdata) == []
    assert (pgdata / "PG_VERSION").exists()  # stopping keeps the data
    assert stop(pgdata) is False  # nothing left to stop

    again = start_holder(pgdata)
    again.kill()
    again.wait(timeout=30)
    assert stop(pgdata, delete=True) is True
    assert not pgdata.exists()


def test_make_stop_db_stops_a_server_left_by_a_dead_process(pgdata: Path):
    killed = start_holder(pgdata)
    killed.kill()
    killed.wait(timeout=30)
    done = subprocess.run(
        [sys.executable, "-m", "forum.embedded_postgres", "stop", str(pgdata)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "stopped the server" in done.stdout
    assert postmaster_pid(pgdata) is None


def test_a_half_written_handle_list_does_not_stop_the_next_start(pgdata: Path):
    holder = start_holder(pgdata)
    holder.kill()
    holder.wait(timeout=30)
    (pgdata / ".handle_pids.json").write_text("")  # a write cut short by a second signal
    later = subprocess.run(
        [sys.executable, "-c", HOLDER.replace("time.sleep(120)", ""), str(pgdata)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert later.returncode == 0, later.stderr
    assert wait_until(lambda: postmaster_pid(pgdata) is None)
