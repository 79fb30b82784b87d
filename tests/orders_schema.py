"""A second schema, unrelated to the forum, kept exact by the same counters package.

Customers place orders; orders hold line items; each line item names a
product. Declared exactly as the forum declares its own counters::

    line items -> order:    count, and a total of quantities
    line items -> product:  a total of quantities (units sold)
    orders -> customer:     count, and the orders' quantities rolled up

The tables live in their own PostgreSQL schema, ``orders_test``, made by the
``orders_engine`` fixture and dropped afterwards; nothing here imports the
forum.
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, Integer, MetaData, String, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from forum.counters import CounterSet, count, rollup, total

SCHEMA = "orders_test"


def counter() -> Mapped[int]:
    return mapped_column(
        Integer, nullable=False, default=0, server_default=text("0"), active_history=True
    )


class Base(DeclarativeBase):
    metadata = MetaData(schema=SCHEMA)


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (CheckConstraint("order_count >= 0"), CheckConstraint("quantity >= 0"))

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    order_count: Mapped[int] = counter()
    quantity: Mapped[int] = counter()


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (CheckConstraint("units_sold >= 0"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    units_sold: Mapped[int] = counter()


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (CheckConstraint("item_count >= 0"), CheckConstraint("quantity >= 0"))

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), active_history=True)
    item_count: Mapped[int] = counter()
    quantity: Mapped[int] = counter()

    customer: Mapped[Customer] = relationship()
    lines: Mapped[list[LineItem]] = relationship(
        back_populates="order", cascade="all, delete-orphan", passive_deletes=True
    )


class LineItem(Base):
    __tablename__ = "line_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), index=True, active_history=True
    )
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), active_history=True)
    quantity: Mapped[int] = mapped_column(Integer, active_history=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    order: Mapped[Order] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()

    __mapper_args__ = {"version_id_col": version}


ORDER_COUNTERS = CounterSet(
    count(LineItem.order, into=Order.item_count),
    total(LineItem.order, LineItem.quantity, into=Order.quantity),
    total(LineItem.product, LineItem.quantity, into=Product.units_sold),
    count(Order.customer, into=Customer.order_count),
    rollup(Order.customer, Order.quantity, into=Customer.quantity),
)
