"""The JSON shapes of the API's resources (shared/CONTRACT.md)."""

from __future__ import annotations

from typing import Any

from ...models import Board, Comment, Thread, User
from ...pagination import encode_cursor
from ...services.reading import Page


def user_json(user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "role": user.role}


def board_json(board: Board) -> dict[str, Any]:
    return {
        "slug": board.slug,
        "title": board.title,
        "thread_count": board.thread_count,
        "comment_count": board.comment_count,
    }


def thread_json(thread: Thread, board: Board | None = None) -> dict[str, Any]:
    return {
        "id": thread.id,
        "board": (board or thread.board).slug,
        "title": thread.title,
        "author": thread.author.username,
        "word_count": thread.word_count,
        "comment_count": thread.comment_count,
        "created_at": thread.created_at,
    }


def comment_json(comment: Comment) -> dict[str, Any]:
    return {
        "id": comment.id,
        "thread_id": comment.thread_id,
        "author": comment.author.username,
        "message": comment.message,
        "word_count": comment.word_count,
        "created_at": comment.created_at,
        "updated_at": comment.updated_at,
    }


def page_json(name: str, page: Page, item_json) -> dict[str, Any]:
    return {
        name: [item_json(item) for item in page.items],
        "next": encode_cursor(page.next_key) if page.next_key else None,
    }
