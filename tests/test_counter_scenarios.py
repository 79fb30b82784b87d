"""The same scenarios on two schemas: the forum's counters and an unrelated orders schema.

Every scenario runs on both schemas under every strategy. The orders schema
(``tests/orders_schema.py``) shares nothing with the forum but the counters
package: it declares its own counts, totals and a two-level rollup, installs
the strategies on its own session class, and passes the same list. The
scenarios cover what the forum's drift tests cover class by class (moves then
deletes, partial expires, detached objects re-added, collection orphans,
savepoints, constructors given counters, bulk writes refused, partially
loaded rows, moves to new parents), in role names (``counter_scenarios``).
"""

from __future__ import annotations

import random
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, func, select, text, update
from sqlalchemy.exc import OperationalError, SADeprecationWarning
from sqlalchemy.orm import Session, load_only
from sqlalchemy.orm.exc import StaleDataError

from forum import counters
from forum.counters import CounterBypassError, GuardedSession
from forum.counters.reconcile import reconcile
from forum.counting import FORUM_COUNTERS, CountedSession
from forum.models import Board, Comment, Thread, User

from .counter_scenarios import Roles, Scene, check_db, commit_and_check, flush_and_check, make_scene
from .factories import make_user
from .orders_schema import ORDER_COUNTERS, SCHEMA, Base, Customer, LineItem, Order, Product

FORUM = Roles(
    name="forum",
    counters=FORUM_COUNTERS,
    item=Comment,
    middle=Thread,
    top=Board,
    side=User,
    to_middle="thread",
    middle_key="thread_id",
    to_side="author",
    side_key="author_id",
    weighed="message",
    collection="comments",
    to_top="board",
    top_key="board_id",
    weight=lambda n: " ".join(["word"] * n),
    new_middle=lambda top, side: Thread(board=top, author=side, title="a thread"),
    new_top=lambda name: Board(slug=name, title=name),
    new_side=lambda session, name: make_user(session, name),
)

ORDERS = Roles(
    name="orders",
    counters=ORDER_COUNTERS,
    item=LineItem,
    middle=Order,
    top=Customer,
    side=Product,
    to_middle="order",
    middle_key="order_id",
    to_side="product",
    side_key="product_id",
    weighed="quantity",
    collection="lines",
    to_top="customer",
    top_key="customer_id",
    weight=lambda n: n,
    new_middle=lambda top, side: Order(customer=top),
    new_top=lambda name: Customer(name=name),
    new_side=lambda session, name: _flushed(session, Product(name=name)),
)


def _flushed(session: Session, obj: Any) -> Any:
    session.add(obj)
    session.flush()
    return obj


class OrdersSession(GuardedSession):
    """The orders schema's own session class: the strategies are installed here."""


@pytest.fixture(scope="session")
def orders_tables(engine: Engine) -> Iterator[None]:
    """The orders schema's tables, made once and dropped at the end."""
    with engine.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
        Base.metadata.create_all(connection)
    yield
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {SCHEMA} CASCADE"))


@pytest.fixture(params=[FORUM, ORDERS], ids=lambda roles: roles.name)
def roles(request: pytest.FixtureRequest) -> Roles:
    if request.param is ORDERS:
        request.getfixturevalue("orders_tables")
    return request.param


@pytest.fixture(params=["flush", "commit"])
def apply(request: pytest.FixtureRequest) -> str:
    """When the parents' UPDATEs are issued (``forum.counter_apply``)."""
    return request.param


@pytest.fixture
def scene(
    roles: Roles, counter_strategy: str, apply: str, connection: Connection
) -> Iterator[Scene]:
    session_class: type[Session] = CountedSession
    if roles is ORDERS:
        session_class = OrdersSession
    counters.install(session_class, counter_strategy, roles.counters, apply=apply)
    session = session_class(bind=connection, join_transaction_mode="create_savepoint")
    yield make_scene(session, roles, counter_strategy, apply)
    session.close()
    counters.install(CountedSession, "attribute", FORUM_COUNTERS)  # the suite's default
    counters.uninstall(OrdersSession)


SCENARIOS: dict[str, Callable[[Scene], None]] = {}


def scenario(fn: Callable[[Scene], None]) -> Callable[[Scene], None]:
    SCENARIOS[fn.__name__] = fn
    return fn


def set_(obj: Any, name: str, value: Any) -> None:
    setattr(obj, name, value)


# --- the everyday writes ---------------------------------------------------------------


@scenario
def create_by_relationship(s: Scene) -> None:
    expected = _plus(s, s.m1, items=1, weight=4)
    s.add(s.m1, 4)
    s.expect_fresh(s.m1, expected)
    flush_and_check(s)
    commit_and_check(s)


@scenario
def create_by_key(s: Scene) -> None:
    s.add(s.m1, 4, by_key=True)
    flush_and_check(s)
    commit_and_check(s)


@scenario
def create_by_collection_append(s: Scene) -> None:
    r = s.roles
    item = r.item(**{r.weighed: r.weight(5), r.to_side: s.s2})
    getattr(s.m3, r.collection).append(item)
    flush_and_check(s)
    commit_and_check(s)


@scenario
def create_a_hundred_in_one_transaction(s: Scene) -> None:
    for n in range(100):
        s.add(s.m1 if n % 2 else s.m3, n % 5)
    flush_and_check(s)
    commit_and_check(s)


@scenario
def edit_the_weight(s: Scene) -> None:
    item = s.reply(s.m1, 2)
    set_(item, s.roles.weighed, s.roles.weight(6))
    flush_and_check(s)
    commit_and_check(s)


@scenario
def move_by_relationship(s: Scene) -> None:
    item = s.reply(s.m1, 2)
    expected = _plus(s, s.m3, items=1, weight=2)
    set_(item, s.roles.to_middle, s.m3)
    s.expect_fresh(s.m3, expected)
    flush_and_check(s)
    commit_and_check(s)


@scenario
def move_by_key(s: Scene) -> None:
    item = s.reply(s.m1, 2)
    set_(item, s.roles.middle_key, s.m3.id)
    flush_and_check(s)
    commit_and_check(s)


@scenario
def change_the_side_parent(s: Scene) -> None:
    item = s.reply(s.m1, 2)
    set_(item, s.roles.to_side, s.s2)
    flush_and_check(s)
    other = s.reply(s.m2, 1)
    set_(other, s.roles.side_key, s.s2.id)
    flush_and_check(s)
    commit_and_check(s)


@scenario
def edit_and_move_together(s: Scene) -> None:
    item = s.reply(s.m2, 2)
    set_(item, s.roles.weighed, s.roles.weight(7))
    set_(item, s.roles.to_middle, s.m3)
    set_(item, s.roles.to_side, s.s2)
    flush_and_check(s)
    commit_and_check(s)


@scenario
def delete_an_item(s: Scene) -> None:
    item = s.reply(s.m1, 2)
    s.session.delete(item)
    flush_and_check(s)
    commit_and_check(s)


@scenario
def move_a_middle_by_relationship(s: Scene) -> None:
    s.reply(s.m1, 4)
    set_(s.m1, s.roles.to_top, s.g2)
    flush_and_check(s)
    commit_and_check(s)


@scenario
def move_a_middle_by_key(s: Scene) -> None:
    s.reply(s.m1, 4)
    set_(s.m1, s.roles.top_key, s.g2.id)
    flush_and_check(s)
    commit_and_check(s)


@scenario
def delete_a_middle_with_its_items(s: Scene) -> None:
    s.reply(s.m1, 4)
    s.add(s.m1, 2, side=s.s2)
    s.session.commit()
    s.session.delete(s.m1)
    flush_and_check(s)
    commit_and_check(s)


@scenario
def new_top_new_middle_new_items_in_one_flush(s: Scene) -> None:
    r = s.roles
    top = r.new_top("g3")
    middle = r.new_middle(top, s.s2)
    s.session.add_all([top, middle])
    s.add(middle, 3, side=s.s2)
    s.add(middle, 4)
    flush_and_check(s)
    commit_and_check(s)


@scenario
def rollback_of_unflushed_changes(s: Scene) -> None:
    item = s.reply(s.m1, 2)
    set_(item, s.roles.to_middle, s.m3)
    s.add(s.m2, 5)
    s.session.rollback()
    check_db(s, "after rollback")
    flush_and_check(s)
    commit_and_check(s)


@scenario
def rollback_of_flushed_changes(s: Scene) -> None:
    item = s.reply(s.m1, 2)
    set_(item, s.roles.to_middle, s.m3)
    s.add(s.m2, 5)
    s.session.flush()
    s.session.rollback()
    flush_and_check(s)
    commit_and_check(s)


# --- the drift classes ---------------------------------------------------------------


@scenario
def moved_then_deleted_before_flush(s: Scene) -> None:
    item = s.reply(s.m1)
    set_(item, s.roles.to_middle, s.m3)
    s.session.delete(item)
    flush_and_check(s)
    commit_and_check(s)


@scenario
def moved_by_relationship_then_back_by_key(s: Scene) -> None:
    item = s.reply(s.m1)
    set_(item, s.roles.to_middle, s.m3)
    set_(item, s.roles.middle_key, s.m1.id)
    flush_and_check(s)
    commit_and_check(s)


@scenario
def moved_by_key_then_on_by_relationship(s: Scene) -> None:
    item = s.reply(s.m1)
    set_(item, s.roles.middle_key, s.m2.id)
    set_(item, s.roles.to_middle, s.m3)
    flush_and_check(s)
    commit_and_check(s)


@scenario
def middle_moved_by_relationship_then_back_by_key(s: Scene) -> None:
    set_(s.m1, s.roles.to_top, s.g2)
    set_(s.m1, s.roles.top_key, s.g1.id)
    flush_and_check(s)
    commit_and_check(s)


@scenario
def partial_expire_after_move(s: Scene) -> None:
    item = s.reply(s.m1)
    set_(item, s.roles.to_middle, s.m3)
    s.session.expire(item, [s.roles.middle_key])
    flush_and_check(s)
    commit_and_check(s)


@scenario
def refresh_of_the_key_after_a_relationship_move(s: Scene) -> None:
    item = s.reply(s.m1)
    set_(item, s.roles.to_middle, s.m3)
    s.session.refresh(item, [s.roles.middle_key])
    flush_and_check(s)
    commit_and_check(s)


@scenario
def expire_of_the_weight_after_edit(s: Scene) -> None:
    item = s.reply(s.m1)
    set_(item, s.roles.weighed, s.roles.weight(9))
    s.session.expire(item, [s.roles.weighed])
    flush_and_check(s)
    commit_and_check(s)


@scenario
def expunge_a_middle_after_its_move(s: Scene) -> None:
    set_(s.m1, s.roles.to_top, s.g2)
    s.session.expunge(s.m1)
    flush_and_check(s)
    commit_and_check(s)


@scenario
def detached_item_moved_then_added(s: Scene) -> None:
    item = s.reply(s.m1)
    s.session.refresh(item)
    s.session.expunge(item)
    set_(item, s.roles.middle_key, s.m3.id)
    s.session.add(item)
    flush_and_check(s)
    commit_and_check(s)


@scenario
def changed_item_expunged_then_added_back(s: Scene) -> None:
    item = s.reply(s.m1)
    set_(item, s.roles.weighed, s.roles.weight(8))
    s.session.expunge(item)
    s.session.add(item)
    flush_and_check(s)
    commit_and_check(s)


@scenario
def deleted_right_after_setting_the_relationship(s: Scene) -> None:
    item = s.reply(s.m1)
    set_(item, s.roles.to_middle, s.m2)
    s.session.delete(item)
    flush_and_check(s)
    commit_and_check(s)


@scenario
def delete_orphan(s: Scene) -> None:
    s.reply(s.m1)
    items = getattr(s.m1, s.roles.collection)
    items.remove(items[0])
    flush_and_check(s)
    commit_and_check(s)


@scenario
def appended_to_another_middle_cancels_a_delete(s: Scene) -> None:
    item = s.reply(s.m1)
    items = getattr(s.m3, s.roles.collection)  # loaded before the delete
    s.session.delete(item)
    items.append(item)
    flush_and_check(s)
    commit_and_check(s)


@scenario
def inner_savepoint_released_outer_rolled_back(s: Scene) -> None:
    s.m1.id  # noqa: B018  (loaded, so the rollback has a copy to correct)
    outer = s.session.begin_nested()
    inner = s.session.begin_nested()
    s.add(s.m1, 4)
    s.session.flush()
    inner.commit()
    outer.rollback()
    flush_and_check(s)
    commit_and_check(s)


@scenario
def middle_constructed_with_counters(s: Scene) -> None:
    r = s.roles
    middle = r.new_middle(s.g1, s.s1)
    for name in s.counters.columns(r.middle):
        setattr(middle, name, 99)
    s.session.add(middle)
    s.add(middle, 2)
    flush_and_check(s)
    commit_and_check(s)


@scenario
def top_constructed_with_counters(s: Scene) -> None:
    top = s.roles.new_top("g9")
    for name in s.counters.columns(s.roles.top):
        setattr(top, name, 42)
    s.session.add(top)
    s.session.add(s.roles.new_middle(top, s.s1))
    flush_and_check(s)
    commit_and_check(s)


@scenario
def bulk_writes_are_refused(s: Scene) -> None:
    r = s.roles
    refusals = [
        lambda: s.session.bulk_save_objects([r.new_item(s.m1, 2, s.s1)]),
        lambda: s.session.execute(update(r.item).values({r.weighed: r.weight(1)})),
        lambda: s.session.execute(update(r.top).values({s.counters.columns(r.top)[0]: 7})),
        lambda: s.session.execute(update(r.middle).values({r.top_key: s.g2.id})),
    ]
    for refused in refusals:
        with pytest.raises(CounterBypassError):
            refused()
        s.session.rollback()
    check_db(s, "after the refusals")


@scenario
def partial_flush_is_refused(s: Scene) -> None:
    item = s.add(s.m1, 2)
    other = s.reply(s.m2)
    set_(other, s.roles.to_middle, s.m3)
    with pytest.raises(CounterBypassError), warnings.catch_warnings():
        warnings.simplefilter("ignore", SADeprecationWarning)  # flush(objects) is deprecated
        s.session.flush([item])
    s.session.rollback()
    check_db(s, "after the refusal")


@scenario
def delete_an_item_loaded_with_load_only(s: Scene) -> None:
    r = s.roles
    key = s.reply(s.m1, 5).id
    s.session.expunge_all()
    item = s.session.get(r.item, key, options=[load_only(getattr(r.item, r.side_key))])
    s.session.delete(item)
    flush_and_check(s)
    commit_and_check(s)


@scenario
def edit_an_item_loaded_with_load_only(s: Scene) -> None:
    r = s.roles
    key = s.reply(s.m1, 5).id
    s.session.expunge_all()
    item = s.session.get(r.item, key, options=[load_only(getattr(r.item, r.side_key))])
    set_(item, r.weighed, r.weight(1))
    flush_and_check(s)
    commit_and_check(s)


@scenario
def middle_moved_to_a_new_top_then_given_an_item(s: Scene) -> None:
    top = s.roles.new_top("g7")
    set_(s.m1, s.roles.to_top, top)
    s.add(s.m1, 3)
    flush_and_check(s)
    commit_and_check(s)


@scenario
def middle_moved_to_a_new_top_then_its_item_moved_away(s: Scene) -> None:
    item = s.item_of(s.m1)
    top = s.roles.new_top("g8")
    set_(s.m1, s.roles.to_top, top)
    set_(item, s.roles.to_middle, s.m3)
    flush_and_check(s)
    commit_and_check(s)


def _plus(s: Scene, middle: Any, *, items: int, weight: int) -> tuple[int, ...]:
    """``middle``'s counters as stored, plus ``items`` items weighing ``weight``."""
    columns = s.counters.columns(type(middle))
    edge = s.counters.main_edge
    assert edge is not None
    kinds = {c.column: c.kind for c in edge.counters}
    stored = dict(zip(columns, s.stored(middle), strict=True))
    return tuple(
        stored[n] + (items if kinds.get(n) == "count" else weight if kinds.get(n) == "total" else 0)
        for n in columns
    )


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario(scene: Scene, name: str) -> None:
    SCENARIOS[name](scene)


# --- concurrent writers on the orders schema -----------------------------------------


@pytest.fixture
def orders_engine(engine: Engine, orders_tables: None) -> Iterator[Engine]:
    """The orders tables for tests that really commit from several connections."""

    def empty() -> None:
        with engine.begin() as connection:
            connection.execute(
                text(
                    f"TRUNCATE {SCHEMA}.line_items, {SCHEMA}.orders, {SCHEMA}.customers, "
                    f"{SCHEMA}.products RESTART IDENTITY"
                )
            )

    empty()
    yield engine
    empty()


def test_orders_stay_exact_under_concurrent_writers(
    orders_engine: Engine, counter_strategy: str, apply: str
):
    """Four writers add, edit, move and delete line items of two hot orders of two
    customers (and move the orders between them): every counter exact afterwards."""
    counters.install(OrdersSession, counter_strategy, ORDER_COUNTERS, apply=apply)
    try:
        with OrdersSession(orders_engine) as session:
            customers = [Customer(name="c1"), Customer(name="c2")]
            product = Product(name="p")
            orders = [Order(customer=customers[0]), Order(customer=customers[1])]
            session.add_all([*customers, product, *orders])
            session.commit()
            order_ids = [o.id for o in orders]
            customer_ids = [c.id for c in customers]
            product_id = product.id

        def writer(seed: int) -> None:
            rng = random.Random(seed)
            for _ in range(25):
                for _attempt in range(20):
                    try:
                        with OrdersSession(orders_engine) as session, session.begin():
                            _one_change(session, rng, order_ids, customer_ids, product_id)
                        break
                    except (OperationalError, StaleDataError):
                        continue  # deadlock or lost race: retried, as the forum's requests are

        threads = [threading.Thread(target=writer, args=(seed,)) for seed in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with orders_engine.connect() as connection:
            report = reconcile(ORDER_COUNTERS, connection)
            assert report.drift == [], [str(d) for d in report.drift]
            assert report.checked["order"] == 2
    finally:
        counters.uninstall(OrdersSession)


def _one_change(
    session: Session, rng: random.Random, orders: list[int], customers: list[int], product: int
) -> None:
    choice = rng.random()
    if choice < 0.5:
        session.add(
            LineItem(order_id=rng.choice(orders), product_id=product, quantity=rng.randint(1, 9))
        )
        return
    line = session.scalars(
        select(LineItem).order_by(func.random()).limit(1).with_for_update()
    ).first()
    if choice < 0.65 and line is not None:
        line.quantity = rng.randint(1, 9)
    elif choice < 0.8 and line is not None:
        line.order_id = rng.choice(orders)
    elif choice < 0.9 and line is not None:
        session.delete(line)
    else:
        order = session.get(Order, rng.choice(orders))
        assert order is not None
        order.customer_id = rng.choice(customers)
