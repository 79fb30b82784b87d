"""The documents a newcomer reads point only at things they can open."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", ROOT / "DEVELOPERS.md", *sorted((ROOT / "docs").rglob("*.md"))]


def test_no_document_cites_files_outside_the_repository():
    for doc in DOCS:
        assert "shared/references" not in doc.read_text(), doc


def test_relative_links_in_the_documents_exist():
    for doc in DOCS:
        for target in re.findall(r"\]\((?!https?://|#)([^)#\s]+)", doc.read_text()):
            assert (doc.parent / target).exists(), (doc, target)


def test_report_sections_are_numbered_once_each():
    text = (ROOT / "docs" / "bench" / "report.md").read_text()
    numbers = re.findall(r"^## (\d+)\.", text, re.MULTILINE)
    assert numbers == [str(n) for n in range(1, len(numbers) + 1)]
