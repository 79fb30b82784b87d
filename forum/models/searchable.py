"""Models whose text is in the full-text search view."""

from __future__ import annotations

from typing import ClassVar


class RefreshSearchViewMixin:
    """Declares which attributes feed the search view; their changes ask for a refresh.

    A declaration only: ``forum.search.requests`` finds the classes that carry
    it and listens to their flushes, so the models import nothing of the
    search wiring (or of the counter strategies).
    """

    #: Attributes whose change alters the model's rows in the search view.
    __searchable__: ClassVar[tuple[str, ...]] = ()
