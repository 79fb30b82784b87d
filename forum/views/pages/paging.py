"""Where a keyset page is: "page 3 of 59", and links to its neighbours and both ends.

No OFFSET and no COUNT: the number of pages comes from a counter column
(``thread.comment_count``, ``board.thread_count``), and a page's own number
travels in its links (``?p=``): the first page is 1, the last is the total,
and following "next" or "previous" adds or takes one. A page reached
otherwise (a permalink's ``?at=``) knows the total but not its own number, and
says only that. Page numbers shown are the ones a link can reach without
skipping pages: the first, the previous, this one, the next and the last.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from pyramid.request import Request

from ...pagination import encode_cursor
from ...services.reading import Page, PageRequest


@dataclass(frozen=True)
class PageLink:
    number: int | None
    href: str
    rel: str | None = None
    current: bool = False


@dataclass(frozen=True)
class Position:
    """This page's number (None when unknown), the total, and the links to show."""

    number: int | None
    total: int
    links: list[PageLink]

    @property
    def label(self) -> str:
        if self.number is None:
            return f"{self.total:,} pages"
        return f"Page {self.number:,} of {self.total:,}"


def page_count(items: int, size: int) -> int:
    return max(1, -(-max(items, 0) // size))


def position(
    request: Request, path: str, page: Page, want: PageRequest, items: int, size: int
) -> Position:
    """Where ``page`` (of a list of ``items`` shown ``size`` a page) is, and its links."""
    total = page_count(items, size)
    number: int | None
    if want.last:
        number = total
    elif not (want.after or want.before or want.at):
        number = 1
    else:
        try:
            number = int(request.GET.get("p", ""))
        except ValueError:
            number = None
    if page.prev_key is None:
        number = 1
    elif page.next_key is None and want.before is None:
        number = total
    if number is not None:
        number = min(max(number, 1), total)
        if page.prev_key is not None and number == 1:
            number = None  # the list grew or shrank under the links: do not guess
        elif page.next_key is not None and number == total:
            number = None

    def query(**params: str) -> str:
        return f"{path}?{urlencode(params)}"

    links: list[PageLink] = []
    if page.prev_key is not None:
        previous = number - 1 if number else None
        if previous != 1:
            links.append(PageLink(1, path, "first"))
        if previous == 1:  # the real first page, not a window ending before this one
            links.append(PageLink(1, path, "prev"))
        else:
            before = {"before": encode_cursor(page.prev_key)}
            if previous:
                before["p"] = str(previous)
            links.append(PageLink(previous, query(**before), "prev"))
    links.append(PageLink(number, request.path_qs, None, current=True))
    if page.next_key is not None:
        following = number + 1 if number else None
        after = {"after": encode_cursor(page.next_key)}
        if following:
            after["p"] = str(following)
        links.append(PageLink(following, query(**after), "next"))
        if following != total:
            links.append(PageLink(total, query(last="1"), "last"))
    return Position(number, total, links)
