"""Markdown to HTML: CommonMark with raw HTML off, safe links, no images."""

from __future__ import annotations

from forum.markup import render_markdown


def test_raw_html_is_text():
    assert render_markdown("<b>hi</b>") == "<p>&lt;b&gt;hi&lt;/b&gt;</p>"


def test_links_are_marked_and_unsafe_schemes_refused():
    html = render_markdown("[a](https://example.org) [b](javascript:alert(1))")
    assert '<a href="https://example.org" rel="nofollow ugc noopener">a</a>' in html
    assert "javascript:" not in html.replace("[b](javascript:alert(1))", "")
    assert html.count("<a ") == 1


def test_images_are_not_rendered():
    html = render_markdown("![x](https://tracker.example/p.png)")
    assert "<img" not in html


def test_a_single_line_break_is_kept():
    assert render_markdown("one\ntwo") == "<p>one<br />\ntwo</p>"


def test_the_text_is_not_changed_for_counting():
    text = "**a** b"
    render_markdown(text)
    assert text.split() == ["**a**", "b"]
