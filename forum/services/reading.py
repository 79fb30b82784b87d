"""Reading the forum: lookups by key and keyset-paginated lists.

Pages are fetched by keyset (``WHERE (created_at, id) > cursor``), never by
OFFSET, so page 1,000 of a thread costs what page 1 costs: one indexed range
scan of ``limit + 1`` rows (the extra row tells whether there is more), plus at
most one EXISTS probe for a "previous" link.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy import Select, exists, func, select, true, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session, joinedload

from ..cache import keys
from ..cache.orm import cache_of, from_cache
from ..cache.rows import CommentRow, LatestRow, ThreadRow
from ..models import Board, Comment, Thread, User
from .accounts import USERNAME_PATTERN

T = TypeVar("T")
Key = tuple[datetime, uuid.UUID]


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    #: Pass as ``after`` to get the following page (None: this is the last).
    next_key: Key | None
    #: Pass as ``before`` to get the preceding page (None: this is the first).
    prev_key: Key | None = None


@dataclass(frozen=True)
class PageRequest:
    """Which page: the first (nothing set), after/before a key, starting at a key, or the last."""

    limit: int
    after: Key | None = None
    before: Key | None = None
    at: Key | None = None
    last: bool = False

    @property
    def first(self) -> bool:
        """The first page: the one a list's link leads to, and the one worth caching."""
        return not (self.after or self.before or self.at or self.last)


def parse_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        return None


def keyset_page(
    session: Session,
    query: Select,
    order: tuple[InstrumentedAttribute, InstrumentedAttribute],
    want: PageRequest,
    *,
    newest_first: bool = False,
) -> Page:
    """One page of ``query`` in ``order`` (ascending, or descending with ``newest_first``)."""
    key = tuple_(*order)

    def later(cursor: Key):  # rows that come after ``cursor`` in display order
        return key < tuple_(*cursor) if newest_first else key > tuple_(*cursor)

    def earlier(cursor: Key):
        return key > tuple_(*cursor) if newest_first else key < tuple_(*cursor)

    def key_of(row) -> Key:
        return tuple(getattr(row, column.key) for column in order)

    display = [c.desc() for c in order] if newest_first else [c.asc() for c in order]
    reverse = [c.asc() for c in order] if newest_first else [c.desc() for c in order]
    forward = want.before is None and not want.last

    if forward:
        window = query
        if want.after is not None:
            window = window.where(later(want.after))
        if want.at is not None:
            window = window.where(~earlier(want.at))
        rows = list(session.scalars(window.order_by(*display).limit(want.limit + 1)))
        more, rows = len(rows) > want.limit, rows[: want.limit]
        next_key = key_of(rows[-1]) if more else None
        prev_key = None
        if rows and (want.after or want.at):
            # Is anything before this page? One indexed probe, whatever the thread's size.
            has_earlier = session.scalar(select(exists(query.where(earlier(key_of(rows[0]))))))
            prev_key = key_of(rows[0]) if has_earlier else None
        return Page(rows, next_key, prev_key)

    if want.before is not None:
        query = query.where(earlier(want.before))
    rows = list(session.scalars(query.order_by(*reverse).limit(want.limit + 1)))
    more, rows = len(rows) > want.limit, rows[: want.limit]
    rows.reverse()
    prev_key = key_of(rows[0]) if more else None
    next_key = key_of(rows[-1]) if rows and want.before is not None else None
    return Page(rows, next_key, prev_key)


def boards(session: Session) -> list[Board]:
    query = select(Board).order_by(Board.title, Board.id)
    return list(session.scalars(query, execution_options=from_cache(keys.BOARDS, "list")))


def board_by_slug(session: Session, slug: str) -> Board | None:
    if "\x00" in slug:  # PostgreSQL text cannot hold one: no board has it
        return None
    cached = from_cache(keys.board(slug), "row")
    return session.scalars(
        select(Board).where(Board.slug == slug), execution_options=cached
    ).one_or_none()


def thread_by_id(session: Session, raw_id: str) -> Thread | None:
    thread_id = parse_uuid(raw_id)
    if thread_id is None:
        return None
    return session.get(
        Thread,
        thread_id,
        options=[joinedload(Thread.board)],
        execution_options=from_cache(keys.thread(thread_id), "header"),
    )


def comment_by_id(session: Session, raw_id: str, *, for_update: bool = False) -> Comment | None:
    """The comment, or None. ``for_update`` locks its row until the transaction ends.

    Writers lock the comment they are about to change when they read it, so two
    requests changing one comment queue up instead of the second working on a
    stale copy (which the version check would catch, at the cost of a retry).
    """
    comment_id = parse_uuid(raw_id)
    if comment_id is None:
        return None
    return session.get(
        Comment, comment_id, with_for_update=for_update, populate_existing=for_update
    )


def board_threads(
    session: Session, board: Board, want: PageRequest
) -> Page[Thread] | Page[ThreadRow]:
    """A board's threads, most recent activity first.

    A read-only request takes the first page from the cache, as plain rows
    (``forum.cache.rows``); other pages are always read.
    """
    query = select(Thread).where(Thread.board_id == board.id).options(_author(Thread.author))

    def read() -> Page[Thread]:
        order = (Thread.last_activity_at, Thread.id)
        return keyset_page(session, query, order, want, newest_first=True)

    cache = cache_of(session)
    if cache is None or not want.first:
        return read()
    return cache.value(
        keys.board(board.slug), f"threads:first:{want.limit}", lambda: rows(read(), ThreadRow.of)
    )


def thread_comments(
    session: Session, thread: Thread, want: PageRequest
) -> Page[Comment] | Page[CommentRow]:
    """A thread's comments in the order they were written (first page: as ``board_threads``)."""
    return comments_of(session, thread.id, want)


def comments_of(
    session: Session, thread_id: uuid.UUID, want: PageRequest
) -> Page[Comment] | Page[CommentRow]:
    """A page of the comments of the thread ``thread_id`` (the thread need not be loaded:
    the thread page reads it beside this, see ``forum.parallel``). A read-only request
    takes the first page from the cache, as plain rows (``forum.cache.rows``)."""
    query = select(Comment).where(Comment.thread_id == thread_id).options(_author(Comment.author))

    def read() -> Page[Comment]:
        return keyset_page(session, query, (Comment.created_at, Comment.id), want)

    cache = cache_of(session)
    if cache is None or not want.first:
        return read()
    return cache.value(
        keys.thread(thread_id), f"comments:first:{want.limit}", lambda: rows(read(), CommentRow.of)
    )


R = TypeVar("R")


def rows(page: Page[T], snapshot: Callable[[T], R]) -> Page[R]:
    """``page`` with its items as plain rows, for the cache."""
    return Page([snapshot(item) for item in page.items], page.next_key, page.prev_key)


def _author(relationship: InstrumentedAttribute):
    """The author's name only: lists show no more, and the member's own row is then
    never loaded with a partial (or, through the cache, stale) copy over it."""
    return joinedload(relationship).load_only(User.id, User.username)


def latest_threads(session: Session, limit: int = 10) -> list[Thread] | list[LatestRow]:
    """The ``limit`` threads with the most recent activity, on any board.

    Each board's newest ``limit`` come from its own (board, last activity) index
    (a LATERAL join), and the newest of those are kept: the work grows with the
    number of boards, not of threads, and needs no index of its own. A read-only
    request takes them from the cache (the board index's scope), as plain rows.
    """
    cache = cache_of(session)
    if cache is not None:
        return cache.value(
            keys.BOARDS,
            f"latest:{limit}",
            lambda: [LatestRow.of(t) for t in _latest_threads(session, limit)],
        )
    return _latest_threads(session, limit)


def _latest_threads(session: Session, limit: int) -> list[Thread]:
    recent = (
        select(Thread.id, Thread.last_activity_at)
        .where(Thread.board_id == Board.id)
        .order_by(Thread.last_activity_at.desc(), Thread.id.desc())
        .limit(limit)
        .lateral("recent")
    )
    newest = (
        select(recent.c.id)
        .select_from(Board)
        .join(recent, true())
        .order_by(recent.c.last_activity_at.desc(), recent.c.id.desc())
        .limit(limit)
    )
    return list(
        session.scalars(
            select(Thread)
            .where(Thread.id.in_(newest))
            .options(joinedload(Thread.board), joinedload(Thread.author))
            .order_by(Thread.last_activity_at.desc(), Thread.id.desc())
        )
    )


@dataclass(frozen=True)
class Totals:
    threads: int
    comments: int
    members: int


def totals(session: Session) -> Totals:
    """The whole forum's threads and comments (from the boards' counters) and members
    (cached with the board index, which every new comment, thread or member stales)."""
    cache = cache_of(session)
    if cache is not None:
        return cache.value(keys.BOARDS, "totals", lambda: _totals(session))
    return _totals(session)


def _totals(session: Session) -> Totals:
    members = select(func.count()).select_from(User).scalar_subquery()
    threads, comments, people = session.execute(
        select(
            func.coalesce(func.sum(Board.thread_count), 0),
            func.coalesce(func.sum(Board.comment_count), 0),
            members,
        )
    ).one()
    return Totals(int(threads), int(comments), int(people))


def user_by_name(session: Session, name: str) -> User | None:
    """The user called ``name`` (stored lower-cased); None for a name no one could register."""
    if not isinstance(name, str) or not USERNAME_PATTERN.fullmatch(name.lower()):
        return None
    return session.scalars(select(User).where(User.username == name.lower())).one_or_none()


def user_comments(session: Session, user: User, want: PageRequest) -> Page[Comment]:
    """What ``user`` wrote, newest first, each with its thread (for the title and link)."""
    query = select(Comment).where(Comment.author_id == user.id).options(joinedload(Comment.thread))
    return keyset_page(session, query, (Comment.created_at, Comment.id), want, newest_first=True)


def user_threads(session: Session, user: User, want: PageRequest) -> Page[Thread]:
    """The threads ``user`` started, newest first, each with its board."""
    query = select(Thread).where(Thread.author_id == user.id).options(joinedload(Thread.board))
    return keyset_page(session, query, (Thread.created_at, Thread.id), want, newest_first=True)


def threads_titled(session: Session, text: str, limit: int = 20) -> list[Thread]:
    """Threads whose title contains ``text`` (case-insensitive), newest activity first."""
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return list(
        session.scalars(
            select(Thread)
            .where(Thread.title.ilike(pattern, escape="\\"))
            .options(joinedload(Thread.board))
            .order_by(Thread.last_activity_at.desc(), Thread.id.desc())
            .limit(limit)
        )
    )
