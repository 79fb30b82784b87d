"""The console scripts, run as a user runs them (subprocesses on the test database)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.engine import URL

from forum.counting import CountedSession
from forum.database import drop_database
from forum.models import Board, Thread, User

from .counter_helpers import stored_board, stored_thread
from .factories import add_comment, make_board, make_thread, make_user

ROOT = Path(__file__).resolve().parent.parent
INI = str(ROOT / "development.ini")
BIN = Path(sys.executable).parent


def run(command: str, *args: str, stdin: str = "", env: dict | None = None):
    return subprocess.run(
        [str(BIN / command), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


# --- forum-user --------------------------------------------------------------------------


def test_forum_user_adds_members_and_moderators(committed_engine: Engine):
    result = run("forum-user", INI, "add", "Carol", stdin="a long password\n")
    assert result.returncode == 0, result.stderr
    assert "created member carol" in result.stdout
    result = run("forum-user", INI, "add", "dave", "--moderator", stdin="another long one\n")
    assert result.returncode == 0, result.stderr
    with CountedSession(committed_engine) as session:
        roles = dict(session.execute(select(User.username, User.role)).all())
    assert roles == {"carol": "member", "dave": "moderator"}


@pytest.mark.parametrize(
    ("name", "password", "message"),
    [
        ("x", "a long password", "username must be 3 to 32 characters"),
        ("erin", "short", "password must be at least 10 characters"),
    ],
)
def test_forum_user_refuses_bad_input(committed_engine: Engine, name, password, message):
    result = run("forum-user", INI, "add", name, stdin=password + "\n")
    assert result.returncode == 1
    assert message in result.stderr
    with CountedSession(committed_engine) as session:
        assert session.scalar(select(User.id)) is None


def test_forum_user_refuses_a_taken_name(committed_engine: Engine):
    assert run("forum-user", INI, "add", "frank", stdin="a long password\n").returncode == 0
    result = run("forum-user", INI, "add", "FRANK", stdin="a long password\n")
    assert result.returncode == 1
    assert "taken" in result.stderr


def test_forum_user_passwd_and_disable_end_every_session(committed_engine: Engine):
    assert run("forum-user", INI, "add", "grace", stdin="a long password\n").returncode == 0

    def grace() -> tuple[str, int, object]:
        with CountedSession(committed_engine) as session:
            user = session.scalars(select(User).where(User.username == "grace")).one()
            return user.password_hash, user.session_generation, user.disabled_at

    old_hash, generation, _ = grace()
    result = run("forum-user", INI, "passwd", "Grace", stdin="a new long password\n")
    assert result.returncode == 0, result.stderr
    assert "every session ended" in result.stdout
    new_hash, new_generation, _ = grace()
    assert new_hash != old_hash and new_generation == generation + 1

    result = run("forum-user", INI, "disable", "grace")
    assert result.returncode == 0, result.stderr
    _, disabled_generation, disabled_at = grace()
    assert disabled_at is not None and disabled_generation == generation + 2

    assert run("forum-user", INI, "enable", "grace").returncode == 0
    assert grace()[2] is None


def test_forum_user_passwd_and_disable_refuse_bad_input(committed_engine: Engine):
    assert run("forum-user", INI, "add", "henry", stdin="a long password\n").returncode == 0
    for args, stdin, message in [
        (("passwd", "nobody"), "a long password\n", "there is no account 'nobody'"),
        (("disable", "nobody"), "", "there is no account 'nobody'"),
        (("passwd", "henry"), "short\n", "password must be at least 10 characters"),
    ]:
        result = run("forum-user", INI, *args, stdin=stdin)
        assert result.returncode == 1, args
        assert message in result.stderr, args


# --- forum-reconcile ---------------------------------------------------------------------


@pytest.fixture
def drifted(committed_engine: Engine):
    """Committed data whose counters were then corrupted behind the ORM's back."""
    with CountedSession(committed_engine) as session:
        alice = make_user(session)
        board = make_board(session)
        busy = make_thread(session, board, alice, "one two three", title="busy")
        add_comment(session, busy, alice, "four five")
        empty = make_thread(session, board, alice, "soon gone", title="empty")
        fine = make_thread(session, board, alice, "all good here", title="fine")
        session.commit()
        ids = {
            "busy": busy.id,
            "empty": empty.id,
            "fine": fine.id,
            "board": board.id,
            "alice": alice.id,
        }
    with committed_engine.begin() as connection:
        connection.execute(
            text("UPDATE threads SET word_count = 99 WHERE id = :id"), {"id": ids["busy"]}
        )
        # A parent left with no children: its true counts are 0.
        connection.execute(text("DELETE FROM comments WHERE thread_id = :id"), {"id": ids["empty"]})
        connection.execute(
            text("UPDATE boards SET thread_count = 7, comment_count = 0 WHERE id = :id"),
            {"id": ids["board"]},
        )
    return committed_engine, ids


def test_reconcile_reports_drift_and_exits_1(drifted):
    engine, ids = drifted
    result = run("forum-reconcile", INI)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert f"drift: thread {ids['busy']} word_count: stored 99, true 5" in lines
    assert f"drift: thread {ids['empty']} word_count: stored 2, true 0" in lines
    assert f"drift: thread {ids['empty']} comment_count: stored 1, true 0" in lines
    assert f"drift: board {ids['board']} thread_count: stored 7, true 3" in lines
    assert f"drift: board {ids['board']} comment_count: stored 0, true 3" in lines
    # The comment deleted behind the strategy's back is still counted for its author.
    assert f"drift: user {ids['alice']} comment_count: stored 4, true 3" in lines
    assert lines[-1] == (
        "checked 3 threads, 1 boards and 1 users: 6 counters drifted in 4 rows, "
        "not fixed (run with --fix)"
    )
    with engine.connect() as connection:  # reporting changes nothing
        assert stored_thread(connection, ids["busy"]) == (99, 2)


@pytest.mark.parametrize("batch", ["1", "1000"])
def test_reconcile_fix_repairs_in_batches(drifted, batch):
    engine, ids = drifted
    result = run("forum-reconcile", INI, "--fix", "--batch", batch)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].endswith("6 counters drifted in 4 rows, fixed")
    with engine.connect() as connection:
        assert stored_thread(connection, ids["busy"]) == (5, 2)
        assert stored_thread(connection, ids["empty"]) == (0, 0)
        assert stored_thread(connection, ids["fine"]) == (3, 1)
        assert stored_board(connection, ids["board"]) == (3, 3)
    again = run("forum-reconcile", INI)
    assert again.returncode == 0
    assert again.stdout.strip() == "checked 3 threads, 1 boards and 1 users: no drift"


def test_reconcile_rejects_a_bad_batch_size(committed_engine):
    result = run("forum-reconcile", INI, "--batch", "0")
    assert result.returncode == 2
    assert "--batch must be at least 1" in result.stderr


# --- forum-initialize-db -----------------------------------------------------------------


def test_initialize_db_migrates_and_loads_demo_data_once(database_url: URL):
    url = database_url.set(database=database_url.database + "_init")
    env = {"FORUM_DATABASE_URL": url.render_as_string(hide_password=False)}
    drop_database(url)
    try:
        first = run("forum-initialize-db", INI, env=env)
        assert first.returncode == 0, first.stderr
        assert "created database" in first.stdout
        assert "loaded the demo data" in first.stdout
        second = run("forum-initialize-db", INI, env=env)
        assert second.returncode == 0, second.stderr
        assert "demo data already present" in second.stdout
        check = run("forum-reconcile", INI, env=env)
        assert check.returncode == 0, check.stdout
        assert "no drift" in check.stdout

        from sqlalchemy import create_engine

        engine = create_engine(url)
        with CountedSession(engine) as session:
            assert session.scalar(select(User.role).where(User.username == "moderator")) == (
                "moderator"
            )
            assert len(session.scalars(select(Board)).all()) == 3
            assert sum(t.comment_count for t in session.scalars(select(Thread))) == 6
        engine.dispose()
    finally:
        drop_database(url)
