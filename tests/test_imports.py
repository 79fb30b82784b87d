"""The models stand alone, and the counters package stands apart from the forum."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_models_loads_no_strategy_and_no_search_wiring():
    code = (
        "import sys, forum.models; "
        "print(sorted(m for m in sys.modules "
        "if m.startswith(('forum.counters', 'forum.counting', 'forum.search'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]", result.stdout


def test_search_wiring_listens_to_the_searchable_models():
    from sqlalchemy import event

    from forum.models import Comment, Thread
    from forum.search import requests

    assert set(requests.searchable_classes()) == {Comment, Thread}
    for cls in (Comment, Thread):
        assert event.contains(cls, "after_update", requests._row_updated)


def test_the_counters_package_imports_nothing_of_the_forum():
    code = (
        "import sys, forum; before = set(sys.modules); import forum.counters; "
        "print(sorted(m for m in set(sys.modules) - before if m.startswith('forum') "
        "and not m.startswith('forum.counters')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]", result.stdout
