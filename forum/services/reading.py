"""Reading the forum: lookups by key and keyset-paginated lists.

Pages are fetched by keyset (``WHERE (created_at, id) > cursor``), never by
OFFSET, so page 1,000 of a thread costs what page 1 costs; one extra row is
fetched to know whether there is a next page.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session, joinedload

from ..models import Board, Comment, Thread

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    #: (created_at, id) of the last item when there is a next page, else None.
    next_key: tuple[datetime, uuid.UUID] | None


def parse_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        return None


def boards(session: Session) -> list[Board]:
    return list(session.scalars(select(Board).order_by(Board.title, Board.id)))


def board_by_slug(session: Session, slug: str) -> Board | None:
    return session.scalars(select(Board).where(Board.slug == slug)).one_or_none()


def thread_by_id(session: Session, raw_id: str) -> Thread | None:
    thread_id = parse_uuid(raw_id)
    return None if thread_id is None else session.get(Thread, thread_id)


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


def _page(rows: list, limit: int) -> Page:
    if len(rows) > limit:
        last = rows[limit - 1]
        return Page(rows[:limit], (last.created_at, last.id))
    return Page(rows, None)


def board_threads(
    session: Session, board: Board, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> Page[Thread]:
    """A board's threads, newest first."""
    query = (
        select(Thread)
        .where(Thread.board_id == board.id)
        .options(joinedload(Thread.author))
        .order_by(Thread.created_at.desc(), Thread.id.desc())
        .limit(limit + 1)
    )
    if after is not None:
        query = query.where(tuple_(Thread.created_at, Thread.id) < tuple_(*after))
    return _page(list(session.scalars(query)), limit)


def thread_comments(
    session: Session, thread: Thread, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> Page[Comment]:
    """A thread's comments in the order they were written."""
    query = (
        select(Comment)
        .where(Comment.thread_id == thread.id)
        .options(joinedload(Comment.author))
        .order_by(Comment.created_at, Comment.id)
        .limit(limit + 1)
    )
    if after is not None:
        query = query.where(tuple_(Comment.created_at, Comment.id) > tuple_(*after))
    return _page(list(session.scalars(query)), limit)
