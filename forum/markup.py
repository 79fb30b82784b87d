"""Messages are written in Markdown (CommonMark) and shown as safe HTML.

markdown-it-py renders with raw HTML switched off, so any tag someone types is
shown as text; its link validator already refuses ``javascript:``, ``vbscript:``,
``file:`` and ``data:`` URLs. Images are not rendered (no hot-linked pixels in
others' pages), and every link gets ``rel="nofollow ugc noopener"``: the
forum vouches for none of them. Words are still counted on the text as
written (``forum.words``), never on this HTML.
"""

from __future__ import annotations

from functools import lru_cache

from markdown_it import MarkdownIt
from markupsafe import Markup

LINK_REL = "nofollow ugc noopener"


def _renderer() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "breaks": True, "typographer": False})
    md.disable("image")

    def link_open(self, tokens, idx, options, env):
        tokens[idx].attrSet("rel", LINK_REL)
        return self.renderToken(tokens, idx, options, env)

    md.add_render_rule("link_open", link_open)
    return md


_MARKDOWN = _renderer()


@lru_cache(maxsize=512)
def render_markdown(text: str) -> Markup:
    """``text`` (as written) as HTML that is safe to put in a page.

    Cached by text: a page shows the same messages to every reader, and a long
    message of nothing but brackets takes markdown-it a good part of a second.
    """
    return Markup(_MARKDOWN.render(text or "").strip())
