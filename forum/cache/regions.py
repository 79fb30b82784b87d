"""The dogpile.cache region ``forum.cache_backend`` names (``none``: no region).

``memory`` keeps pickled values in this process (a pickle, as Redis would hold,
so no two requests ever share a mutable object), bounded: generations make old
values unreachable rather than deleting them, so the oldest are dropped past
``MEMORY_ITEMS``. ``redis`` uses dogpile's Redis backend with a distributed
lock: of several processes missing one key, one computes it while the others
wait. Every key gets ``forum.cache_prefix`` in front, so several forums (and
the tests) can share one Redis database.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from dogpile.cache import CacheRegion, make_region

from ..settings import ForumSettings

#: Values kept by the memory backend before the least recently used are dropped.
MEMORY_ITEMS = 20_000
#: Seconds a Redis command may take before the cache counts as down for this request.
REDIS_TIMEOUT_SECONDS = 0.5
#: Seconds a crashed process's recompute lock can block the others.
LOCK_TIMEOUT_SECONDS = 30


class BoundedDict(OrderedDict):
    """A thread-safe dict that forgets its least recently used items past ``limit``."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.lock = threading.Lock()

    def get(self, key: Any, default: Any = None) -> Any:
        with self.lock:
            if key not in self:
                return default
            self.move_to_end(key)
            return super().__getitem__(key)

    def __setitem__(self, key: Any, value: Any) -> None:
        with self.lock:
            super().__setitem__(key, value)
            self.move_to_end(key)
            while len(self) > self.limit:
                self.popitem(last=False)

    def pop(self, key: Any, default: Any = None) -> Any:
        with self.lock:
            return super().pop(key, default)


def build_region(settings: ForumSettings) -> CacheRegion | None:
    """The configured region, or None when caching is off."""
    if settings.cache_backend == "none":
        return None
    prefix = settings.cache_prefix
    region = make_region(key_mangler=lambda key: prefix + key)
    if settings.cache_backend == "memory":
        return region.configure(
            "dogpile.cache.memory_pickle",
            expiration_time=settings.cache_expiration_seconds,
            arguments={"cache_dict": BoundedDict(MEMORY_ITEMS)},
        )
    return region.configure(
        "dogpile.cache.redis",
        expiration_time=settings.cache_expiration_seconds,
        arguments={
            "url": settings.cache_url,
            "distributed_lock": True,
            "thread_local_lock": False,  # a lock taken in one thread may be freed in another
            "lock_timeout": LOCK_TIMEOUT_SECONDS,
            # Redis drops what nobody read for a while; dogpile's own expiry comes first.
            "redis_expiration_time": 2 * settings.cache_expiration_seconds + 60,
            "socket_timeout": REDIS_TIMEOUT_SECONDS,
            "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
        },
    )
