"""The read cache: pages uncached, from memory and from Redis, hit and miss; and what
invalidation adds to a write.

Requests go through the whole WSGI app in this process (WebTest, no network), one
app per backend, all on the same scratch database, so what differs is the cache
alone. Variants take turns in shuffled rounds. A *miss* is a read right after its
page's scopes got new generations (what a write does); a *hit* is a read of a
page read before. Throughput is anonymous readers in threads, hits only. The
write is one comment committed through the app's own session factory, so its
time includes noting the stale scopes during the flush and renewing them after
the commit (nothing for ``none``).
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import event, select, text
from webob import Request, Response

from ...cache import keys
from ...models import Board, Comment, Thread, User
from ...seeding.load import SeedPlan, analyze, seed
from ...services import reading
from ..workbench import Workbench, summary, timed

T = TypeVar("T")
BACKENDS = ("none", "memory", "redis")
PAGES = ("board index", "board page", "thread page")
#: Readers at once for the throughput figures.
READERS = 4


@contextmanager
def _environment(**values: str) -> Iterator[None]:
    """FORUM_* variables set (and every other FORUM_CACHE_* one unset) for a while."""
    saved = dict(os.environ)
    for name in [n for n in os.environ if n.startswith("FORUM_CACHE_")]:
        del os.environ[name]
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


class Client:
    """GETs through the WSGI app in this process (WebOb, which Pyramid brings)."""

    def __init__(self, app: Callable) -> None:
        self.app = app
        self.registry = app.registry  # type: ignore[attr-defined]

    def get(self, path: str) -> Response:
        response = Request.blank(path).get_response(self.app)
        if response.status_int != 200:
            raise RuntimeError(f"GET {path}: {response.status}")
        return response


class Caching(Workbench):
    # --- 7. the read cache ---------------------------------------------------------------

    #: Set by forum.scripts.bench: the ini file's settings, on which each app is built.
    app_settings: dict[str, Any] = {}

    def cache(self) -> None:
        out: dict = {"backends": {}, "cores": os.cpu_count()}
        load_before = os.getloadavg()[0]
        target = self._cache_forum()
        out["forum"] = target["sizes"]
        prefix = f"forum-bench-{uuid.uuid4().hex[:8]}:"
        redis_url = str(self.app_settings.get("forum.cache_url", "redis://127.0.0.1:6379/1"))
        backends = [b for b in BACKENDS if b != "redis" or redis_answers(redis_url)]
        if "redis" not in backends:
            out["skipped"] = f"redis: nothing answers at {redis_url}"
            self.log(f"cache: {out['skipped']}; measuring the others")
        apps = {b: self._app(b, redis_url, prefix) for b in backends}
        try:
            paths = {
                "board index": "/",
                "board page": f"/b/{target['slug']}",
                "thread page": f"/t/{target['thread']}",
            }
            scopes = {
                "board index": [keys.BOARDS],
                "board page": [keys.board(target["slug"]), keys.BOARDS],
                "thread page": [keys.thread(target["thread"])],
            }
            out["latency"] = self._page_latency(apps, paths, scopes)
            out["throughput"] = self._throughput(apps, paths)
            out["writes"] = self._write_cost(apps, target)
        finally:
            self._forget(apps, prefix)
        out["backends"] = {b: self._describe(b, redis_url) for b in backends}
        out["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
        self.results["cache"] = out

    def _turns(self, items: list[T], count: int) -> Iterator[list[T]]:
        """``count`` rounds of ``items``, shuffled in each (a slow moment falls on all)."""
        for _ in range(count):
            order = items[:]
            self.rng.shuffle(order)
            yield order

    # --- set-up ---------------------------------------------------------------------------

    def _cache_forum(self) -> dict:
        """A forum whose pages are full: boards of many threads, threads of many comments."""
        comments = max(self.scale.search_sizes[0] // 2, 200)
        threads = max(comments // 100, 4)
        self.log(f"cache: seeding {threads:,} threads, {comments:,} comments on 3 boards")
        seed(self.engine, SeedPlan(threads=threads, comments=comments, boards=3, seed=23))
        analyze(self.engine)
        with self.engine.connect() as connection:
            thread_id, slug = connection.execute(
                select(Thread.id, Board.slug)
                .join(Board, Board.id == Thread.board_id)
                .order_by(Thread.comment_count.desc())
                .limit(1)
            ).one()
            author = connection.scalar(select(User.id).order_by(User.id).limit(1))
            biggest = connection.scalar(select(Thread.comment_count).where(Thread.id == thread_id))
            on_board = connection.scalar(select(Board.thread_count).where(Board.slug == slug))
        return {
            "thread": thread_id,
            "slug": slug,
            "author": author,
            "sizes": {
                "threads": threads,
                "comments": comments,
                "boards": 3,
                "thread_comments": biggest,
                "board_threads": on_board,
            },
        }

    def _app(self, backend: str, redis_url: str, prefix: str) -> Client:
        from ... import main

        settings = {
            **self.app_settings,
            "forum.cache_backend": backend,
            "forum.cache_url": redis_url,
            "forum.cache_prefix": prefix,
            "forum.session_secret": "forum-bench-only",
            "forum.session_secure": "false",
        }
        url = self.engine.url.render_as_string(hide_password=False)
        with _environment(FORUM_DATABASE_URL=url):
            app = main({}, **settings)
        return Client(app)

    @staticmethod
    def _describe(backend: str, redis_url: str) -> str:
        return {
            "none": "no cache: every read queries PostgreSQL",
            "memory": "dogpile memory_pickle in the process",
            "redis": f"dogpile redis, distributed_lock, {redis_url}",
        }[backend]

    @staticmethod
    def _forget(apps: dict, prefix: str) -> None:
        """The bench's own Redis keys, deleted (its prefix only)."""
        if "redis" not in apps:
            return
        client = apps["redis"].registry["cache"].region.backend.writer_client
        mine = list(client.scan_iter(match=prefix + "*", count=1000))
        if mine:
            client.delete(*mine)

    # --- reads ----------------------------------------------------------------------------

    def _page_latency(self, apps: dict, paths: dict, scopes: dict) -> dict:
        """Median and p95 of each page on each backend, a hit and a miss."""
        self.log("cache: page latency, hit and miss, per backend")
        samples: dict[tuple[str, str, str], list[float]] = {}
        kinds = [
            (b, kind) for b in apps for kind in (("read",) if b == "none" else ("hit", "miss"))
        ]
        for app in apps.values():  # one untimed read of each page warms everything
            for path in paths.values():
                app.get(path)
        for order in self._turns(kinds, self.scale.reads // 10 or 1):
            for backend, kind in order:
                app = apps[backend]
                cache = app.registry["cache"]
                for page, path in paths.items():
                    for _ in range(10):
                        if kind == "miss":
                            cache.invalidate(scopes[page])
                        elapsed, _ = timed(lambda a=app, p=path: a.get(p))
                        samples.setdefault((page, backend, kind), []).append(elapsed)
        out: dict = {page: {} for page in paths}
        for (page, backend, kind), values in samples.items():
            out[page].setdefault(backend, {})[kind] = summary(values)
        return out

    def _throughput(self, apps: dict, paths: dict) -> dict:
        """Pages per second with READERS readers at once (hits when cached)."""
        self.log(f"cache: throughput with {READERS} readers")
        per_reader = max(self.scale.reads // 3, 5)
        out: dict = {page: {} for page in paths}
        for order in self._turns([(b, p) for b in apps for p in paths], 1):
            for backend, page in order:
                path = paths[page]
                apps[backend].get(path)  # warm
                errors: list[BaseException] = []

                def read(app=apps[backend], path=path, errors=errors) -> None:
                    try:
                        for _ in range(per_reader):
                            app.get(path)
                    except BaseException as error:  # reported, never swallowed
                        errors.append(error)

                readers = [threading.Thread(target=read) for _ in range(READERS)]
                started = time.perf_counter()
                for reader in readers:
                    reader.start()
                for reader in readers:
                    reader.join()
                seconds = time.perf_counter() - started
                if errors:
                    raise errors[0]
                out[page][backend] = {
                    "pages_per_second": round(READERS * per_reader / seconds, 1),
                    "requests": READERS * per_reader,
                }
        return out

    # --- writes ---------------------------------------------------------------------------

    def _write_cost(self, apps: dict, target: dict) -> dict:
        """One comment per transaction through each app's session factory: time and SQL."""
        self.log("cache: what invalidation adds to a write")
        samples: dict[str, list[float]] = {b: [] for b in apps}
        statements: dict[str, int] = {}
        for order in self._turns(list(apps), max(self.scale.writes // 10, 2)):
            for backend in order:
                factory = apps[backend].registry["dbsession_factory"]
                for _ in range(10):
                    sent, elapsed = self._one_write(factory, target)
                    samples[backend].append(elapsed)
                    statements[backend] = sent
        with self.engine.begin() as connection:  # the counters stayed exact; say so below
            drift = connection.scalar(
                text(
                    "SELECT count(*) FROM threads t WHERE comment_count <> "
                    "(SELECT count(*) FROM comments c WHERE c.thread_id = t.id)"
                )
            )
        out = {b: {**summary(v), "statements": statements[b]} for b, v in samples.items()}
        out["drifted_threads"] = drift
        return out

    def _one_write(self, factory: Callable, target: dict) -> tuple[int, float]:
        sent = [0]

        def count(*_args: Any) -> None:
            sent[0] += 1

        session = factory()
        engine = session.get_bind()
        event.listen(engine, "before_cursor_execute", count)
        try:

            def write() -> None:
                # As a reply does: the route reads the thread with its board.
                thread = reading.thread_by_id(session, str(target["thread"]))
                session.add(
                    Comment(thread=thread, author_id=target["author"], message=self._message())
                )
                session.commit()

            elapsed, _ = timed(write)
        finally:
            event.remove(engine, "before_cursor_execute", count)
            session.close()
        return sent[0], elapsed
