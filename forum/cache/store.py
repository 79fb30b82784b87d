"""``Cache``: values under generations, invalidation, and surviving an outage.

Nothing here may fail a request. When the backend cannot be reached the value
is computed as if there were no cache, a warning is logged (once per
``RETRY_SECONDS``), and for that long reads skip the cache instead of waiting
on it again. An error raised while *computing* a value (a database error, a
timeout) is the request's own and passes through untouched.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import TypeVar

from dogpile.cache import CacheRegion
from dogpile.cache.api import NO_VALUE

from . import keys

log = logging.getLogger(__name__)

T = TypeVar("T")

#: After a failure, reads go straight to the database for this long before trying again.
RETRY_SECONDS = 5.0


class _CreatorFailed(Exception):
    """Carries an exception the value's creator raised through dogpile, to tell it apart."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(error)
        self.error = error


class Cache:
    """One dogpile region used by generation (see ``forum.cache.keys``)."""

    def __init__(self, region: CacheRegion, *, search_seconds: int) -> None:
        self.region = region
        self.search_seconds = search_seconds
        self._down_until = 0.0

    # --- reading -----------------------------------------------------------------------

    def value(
        self,
        scope: str,
        name: str,
        create: Callable[[], T],
        *,
        expiration: int | None = None,
        should_cache: Callable[[T], bool] | None = None,
    ) -> T:
        """The value ``name`` of ``scope``: from the cache, or ``create()``d and stored."""
        if time.monotonic() < self._down_until:
            return create()
        created: list[T] = []

        def creator() -> T:
            try:
                result = create()
            except BaseException as error:
                raise _CreatorFailed(error) from error
            created.append(result)
            return result

        try:
            generation = self._generation(scope)
            return self.region.get_or_create(
                keys.value_key(scope, generation, name),
                creator,
                expiration_time=expiration,  # None: the region's own
                should_cache_fn=should_cache,
            )
        except _CreatorFailed as failed:
            raise failed.error from None
        except Exception as error:
            self._went_down("reading", error)
            return created[0] if created else create()

    def _generation(self, scope: str) -> str:
        key = keys.generation_key(scope)
        current = self.region.get(key, ignore_expiration=True)
        if current is NO_VALUE:
            # Made before this reader queries: see the race note in forum.cache.keys.
            current = keys.new_generation()
            self.region.set(key, current)
        return str(current)

    # --- invalidating ------------------------------------------------------------------

    def invalidate(self, scopes: Iterable[str]) -> bool:
        """Give each scope a new generation; False (logged) when the cache was unreachable."""
        fresh = {keys.generation_key(scope): keys.new_generation() for scope in scopes}
        if not fresh:
            return True
        try:
            self.region.set_multi(fresh)
        except Exception as error:
            self._went_down("invalidating", error, always=True)
            return False
        return True

    # --- an outage ---------------------------------------------------------------------

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    def _went_down(self, doing: str, error: Exception, always: bool = False) -> None:
        first = self.available
        self._down_until = time.monotonic() + RETRY_SECONDS
        if first or always:
            log.warning(
                "cache unreachable while %s (%s: %s); serving from the database for %gs",
                doing,
                type(error).__name__,
                error,
                RETRY_SECONDS,
            )
