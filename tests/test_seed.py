"""forum-seed: synthetic data, loaded fast, with every counter exact afterwards."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine, func, select, text

from forum.counting import CountedSession
from forum.models import Board, Comment, Thread
from forum.reconcile import reconcile
from forum.seeding.corpus import BROAD_WORD, PHRASE, SELECTIVE_WORD, MarkerRates, message
from forum.seeding.load import SeedPlan, seed, thread_sizes
from forum.words import word_count

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def test_thread_sizes_give_every_thread_a_post_and_the_hot_ones_half():
    sizes = thread_sizes(SeedPlan(threads=100, comments=10_000, hot_threads=2), random.Random(1))
    assert sum(sizes) == 10_000
    assert min(sizes) >= 1
    assert sizes[0] == sizes[1] >= (10_000 - 100) // 4  # two hot threads share half the rest
    assert max(sizes[2:]) < sizes[0]


def test_messages_look_like_text_and_carry_the_markers():
    rng = random.Random(7)
    rates = MarkerRates.for_corpus(2000)
    messages = [message(rng, rates) for _ in range(2000)]
    lengths = sorted(word_count(m) for m in messages)
    assert 10 <= lengths[len(lengths) // 2] <= 40  # a median message of some twenty words
    assert lengths[-1] > 100  # and a long tail
    broad = sum(BROAD_WORD in m for m in messages) / len(messages)
    assert 0.4 < broad < 0.6
    assert 100 <= sum(SELECTIVE_WORD in m for m in messages) <= 500
    assert sum(PHRASE in m for m in messages) > 0
    assert all("\t" not in m for m in messages)


def test_seed_loads_everything_with_exact_counters(committed_engine: Engine):
    report = seed(
        committed_engine, SeedPlan(threads=40, comments=3000, boards=3, hot_threads=1, workers=2)
    )
    assert (report.threads, report.comments, report.boards) == (40, 3000, 3)
    with CountedSession(committed_engine) as session:
        assert session.scalar(select(func.count()).select_from(Comment)) == 3000
        assert session.scalar(select(func.sum(Board.comment_count))) == 3000
        hot = session.get(Thread, report.hot_thread_ids[0])
        assert hot.comment_count >= (3000 - 40) // 2
        assert (
            session.scalar(select(func.count()).where(Thread.last_activity_at < Thread.created_at))
            == 0
        )
    with committed_engine.connect() as connection:
        assert reconcile(connection).drift == []
        assert connection.scalar(text("SELECT generation FROM search_refresh_state")) >= 1


def test_forum_seed_command(committed_engine: Engine):
    result = subprocess.run(
        [
            str(BIN / "forum-seed"),
            str(ROOT / "development.ini"),
            "--threads",
            "20",
            "--comments",
            "500",
            "--boards",
            "2",
            "--hot-thread",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "seeded 2 boards" in result.stdout and "500 comments" in result.stdout
    check = subprocess.run(
        [str(BIN / "forum-reconcile"), str(ROOT / "development.ini")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0 and "no drift" in check.stdout


def test_forum_seed_refuses_nonsense(committed_engine: Engine):
    result = subprocess.run(
        [
            str(BIN / "forum-seed"),
            str(ROOT / "development.ini"),
            "--threads",
            "2",
            "--comments",
            "10",
            "--hot-thread",
            "3",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "--hot-thread cannot be more than --threads" in result.stderr
