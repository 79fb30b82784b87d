"""Models whose text is in the full-text search view."""

from __future__ import annotations

from typing import ClassVar


class RefreshSearchViewMixin:
    """Declares which attributes feed the search view; their changes ask for a refresh.

    ``__declare_last__`` runs once the mappers are configured and registers the
    flush listeners of ``forum.events.search_refresh`` on the class.
    """

    #: Attributes whose change alters the model's rows in the search view.
    __searchable__: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def __declare_last__(cls) -> None:
        from ..events.search_refresh import listen_for_changes

        listen_for_changes(cls)
