"""Demo data for ``make run``: a few boards, users, threads and a moderator.

Loaded once, into an empty database, through the ORM: the configured counter
strategy keeps its counters exactly as it does for any other write.
"""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from .models import Board, Comment, Thread, User
from .passwords import PasswordHasher

#: (username, password, role); the README lists them.
DEMO_USERS = [
    ("moderator", "moderator-password", "moderator"),
    ("alice", "alice-password", "member"),
    ("bob", "bob-password", "member"),
]

DEMO_BOARDS = [
    ("general", "General discussion"),
    ("counters", "Counters and caches"),
    ("help", "Help and support"),
]

#: (board slug, author, title, [(commenter, message), ...]); the first comment opens the thread.
DEMO_THREADS = [
    (
        "general",
        "alice",
        "Welcome to the forum",
        [
            ("alice", "Hello everyone! Every thread here shows its word and comment counts."),
            ("bob", "Hi Alice. The board counts on the front page add up too."),
            ("moderator", "Welcome both. Edit or delete a comment and watch them change."),
        ],
    ),
    (
        "counters",
        "bob",
        "Why keep a counter column at all?",
        [
            (
                "bob",
                "Counting comments with COUNT(*) on every page view gets slow on big threads.",
            ),
            ("alice", "A counter column is O(1) to read, but every write must keep it exact."),
        ],
    ),
    (
        "help",
        "alice",
        "How do I switch the counter strategy?",
        [("alice", "Set FORUM_COUNTER_STRATEGY=before_flush before make run.")],
    ),
]


def load_demo_data(session: Session, hasher: PasswordHasher) -> bool:
    """Add the demo data unless the database already has boards; True if it was added."""
    if session.scalar(select(exists().where(Board.id.isnot(None)))):
        return False
    users = {
        name: User(username=name, password_hash=hasher.hash(password), role=role)
        for name, password, role in DEMO_USERS
    }
    boards = {slug: Board(slug=slug, title=title) for slug, title in DEMO_BOARDS}
    session.add_all([*users.values(), *boards.values()])
    for slug, author, title, comments in DEMO_THREADS:
        thread = Thread(board=boards[slug], author=users[author], title=title)
        for commenter, message in comments:
            session.add(Comment(thread=thread, author=users[commenter], message=message))
        session.flush()
    return True
