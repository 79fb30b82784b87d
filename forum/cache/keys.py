"""Cache keys: a scope's generation, and values stored under it.

A *scope* is what one write makes stale as a whole: the board index
(``boards``), one board (``board:<slug>``, the key its page is found by), one
thread (``thread:<id>``), the search results (``search``). Each value is
stored under its scope's current *generation*, a random token kept in the
cache itself::

    thread:<id>@<generation>:comments:first:50

Invalidating a scope replaces its generation with a new token, which makes
every value stored under the old one unreachable at once (all of a thread's
pages, whatever their page size), and those values expire on their own. A
reader reads the generation *before* it queries, so a value computed from a
snapshot older than a commit is stored under a generation that commit
replaced: no reader ever finds it.
"""

from __future__ import annotations

import secrets
import uuid

BOARDS = "boards"
SEARCH = "search"


def board(slug: str) -> str:
    return f"board:{slug}"


def thread(thread_id: uuid.UUID | str) -> str:
    return f"thread:{thread_id}"


def generation_key(scope: str) -> str:
    return f"{scope}#generation"


def value_key(scope: str, generation: str, name: str) -> str:
    return f"{scope}@{generation}:{name}"


def new_generation() -> str:
    """A token no earlier generation of any scope had (so none is ever reused)."""
    return secrets.token_hex(8)
