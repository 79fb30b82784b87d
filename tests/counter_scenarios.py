"""One scenario list for any declared schema: the forum's, and an unrelated one.

A scenario speaks of *roles*, not of comments and threads: an **item** (a
comment, a line item) weighs something (a message's words, a quantity) and
names a **middle** parent (a thread, an order) and a **side** parent (an
author, a product); a middle parent names a **top** parent (a board, a
customer). ``Roles`` maps the roles onto one schema's classes and attribute
names, so ``tests/test_counter_scenarios.py`` runs every scenario on the
forum and on the orders schema, under every strategy.

The checks are generated from the declaration too: ``check_db`` is the
package's reconcile (no drift), ``check_memory`` compares every loaded
parent's counters with its row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from forum.counters import CounterSet
from forum.counters.declaration import primary_key, table_of
from forum.counters.reconcile import reconcile


@dataclass(frozen=True)
class Roles:
    """One schema, in the scenarios' words."""

    name: str
    counters: CounterSet
    item: type
    middle: type
    top: type
    side: type
    to_middle: str  # the item's relationship to its middle parent ("thread")
    middle_key: str  # its key ("thread_id")
    to_side: str  # "author"
    side_key: str  # "author_id"
    weighed: str  # "message"
    collection: str  # the middle's collection of items ("comments")
    to_top: str  # the middle's relationship to its top parent ("board")
    top_key: str  # "board_id"
    #: a value of the weighed column that weighs ``n``
    weight: Callable[[int], Any]
    #: a new middle parent on ``top`` (extra constructor arguments: side parent)
    new_middle: Callable[[Any, Any], Any]
    new_top: Callable[[str], Any]
    new_side: Callable[[Session, str], Any]

    def new_item(self, middle: Any, n: int, side: Any, *, by_key: bool = False) -> Any:
        """A transient item of weight ``n`` in ``middle``, by relationship or by key."""
        if by_key:
            values = {self.middle_key: pk(middle), self.side_key: pk(side)}
        else:
            values = {self.to_middle: middle, self.to_side: side}
        return self.item(**values, **{self.weighed: self.weight(n)})


def pk(obj: Any) -> Any:
    """The object's primary key: from its identity when persistent (loading nothing)."""
    state = inspect(obj)
    if state.key is not None:
        return state.key[1][0]
    return getattr(obj, primary_key(type(obj)).key)


@dataclass
class Scene:
    """Tops g1 (middles m1, m2) and g2 (m3); sides s1 and s2; each middle holds one item of
    weight 3 by s1. Committed."""

    session: Session
    roles: Roles
    strategy: str
    #: "flush", or "commit": the database (and so memory against it) is checked at commits
    apply: str
    g1: Any
    g2: Any
    m1: Any
    m2: Any
    m3: Any
    s1: Any
    s2: Any

    @property
    def counters(self) -> CounterSet:
        return self.roles.counters

    def item_of(self, middle: Any) -> Any:
        """``middle``'s first item, queried (never through its collection)."""
        r = self.roles
        key = getattr(r.item, r.middle_key)
        order = primary_key(r.item)
        return self.session.scalars(select(r.item).where(key == pk(middle)).order_by(order)).first()

    def add(self, middle: Any, n: int = 2, side: Any = None, **kw: Any) -> Any:
        item = self.roles.new_item(middle, n, side or self.s1, **kw)
        self.session.add(item)
        return item

    def reply(self, middle: Any, n: int = 2) -> Any:
        """A committed item of ``middle`` (so the session holds it expired)."""
        item = self.add(middle, n)
        self.session.commit()
        return item

    def stored(self, obj: Any) -> tuple[int, ...]:
        """The counters the database holds for parent ``obj``."""
        cls = type(obj)
        table = table_of(cls)
        names = self.counters.columns(cls)
        query = select(*(table.c[n] for n in names)).where(primary_key(cls) == pk(obj))
        return tuple(self.session.connection().execute(query).one())

    def shown(self, obj: Any) -> tuple[int | None, ...]:
        """The counters the session's copy holds, without loading anything."""
        return tuple(inspect(obj).dict.get(n) for n in self.counters.columns(type(obj)))

    def expect_fresh(self, obj: Any, expected: tuple[int, ...]) -> None:
        """``attribute`` promises fresh counters before any flush; the others do not."""
        if self.strategy == "attribute" and self.apply == "flush":
            held = self.shown(obj)
            assert held == expected, (
                f"attribute: {obj!r} before flush holds {held}, want {expected}"
            )


def make_scene(session: Session, roles: Roles, strategy: str, apply: str = "flush") -> Scene:
    s1, s2 = roles.new_side(session, "s1"), roles.new_side(session, "s2")
    g1, g2 = roles.new_top("g1"), roles.new_top("g2")
    session.add_all([g1, g2])
    middles = []
    for top in (g1, g1, g2):
        middle = roles.new_middle(top, s1)
        session.add(middle)
        session.add(roles.new_item(middle, 3, s1))
        middles.append(middle)
    session.commit()
    return Scene(session, roles, strategy, apply, g1, g2, *middles, s1, s2)


def db_drift(session: Session, counters: CounterSet) -> list[str]:
    return [str(d) for d in reconcile(counters, session.connection()).drift]


def check_db(scene: Scene, when: str = "") -> None:
    drift = db_drift(scene.session, scene.counters)
    assert drift == [], f"database drift {when}:\n" + "\n".join(drift)


def check_memory(scene: Scene, when: str = "") -> None:
    """Every loaded parent's counters equal its row (only values already loaded are read)."""
    errors = []
    for obj in list(scene.session.identity_map.values()):
        names = scene.counters.parents.get(type(obj))
        state = inspect(obj)
        if names is None or state.deleted or not all(n in state.dict for n in names):
            continue
        shown, stored = scene.shown(obj), scene.stored(obj)
        if shown != stored:
            errors.append(f"{type(obj).__name__} {pk(obj)}: in memory {shown}, database {stored}")
    assert errors == [], f"in-memory counters wrong {when}:\n" + "\n".join(errors)


def flush_and_check(scene: Scene) -> None:
    """Flush; with ``apply="flush"`` the database and memory are exact now (with
    ``"commit"`` they are at the commit)."""
    scene.session.flush()
    if scene.apply == "flush":
        check_db(scene, "after flush")
        check_memory(scene, "after flush")


def commit_and_check(scene: Scene) -> None:
    scene.session.commit()
    check_db(scene, "after commit")
    check_memory(scene, "after commit")
