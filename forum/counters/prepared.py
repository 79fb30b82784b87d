"""The counters' statements, prepared once per database connection (PostgreSQL).

PostgreSQL plans every plain statement it is sent. For the counters' usual
write, one statement updating the thread, its board and the author, planning
costs nearly as much as running it: measured on the development machine, in one
transaction, 336 µs sent as plain SQL against 188 µs as ``EXECUTE`` of a
prepared statement (the ORM's own INSERT of the comment takes about 260 µs).
So each connection prepares a statement the first time it needs it and then
only executes it.

The first use sends ``PREPARE name AS ...; EXECUTE name(...)`` as one message, so
no write sends more statements than before (tests count them). A prepared
statement belongs to the database session, not the transaction: a rollback
keeps it, and so does a failed ``EXECUTE`` (a deadlock, a CHECK). When the
``PREPARE`` itself may not have run (the transaction was already aborted, the
statement names something missing), the connection forgets every name it holds
and the next use prepares under fresh names, so a name is never prepared twice.
A new or invalidated connection starts with none (its pool ``info`` is new).

Turn it off where a connection's session is not the database's, as behind
PgBouncer in transaction mode: ``engine.execution_options(counters_prepare=False)``.
"""

from __future__ import annotations

import re
from functools import cache
from itertools import count
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

#: In the pool's ``info`` for one DBAPI connection: {sql: prepared name}.
NAMES = "counters.prepared"
#: Execution option that turns preparing off (it defaults to on, on PostgreSQL).
OPTION = "counters_prepare"
#: SQLSTATE classes of errors an ``EXECUTE`` raises once its ``PREPARE`` has run:
#: integrity (23), transaction rollback (40: deadlock, serialization), lock not
#: available (55), operator intervention (57: a cancelled statement).
_EXECUTE_FAILED = ("23", "40", "55", "57")

_serial = count(1)
_PARAM = re.compile(r"%\((\w+)\)s")


@cache
def _as_prepared(sql: str) -> tuple[str, str]:
    """``sql`` with ``%(name)s`` turned into ``$1, $2 ...`` (the body to prepare), and the
    ``EXECUTE``'s argument list naming the parameters in that order."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    body = _PARAM.sub(number, sql)
    return body, f"({', '.join(f'%({n})s' for n in names)})" if names else ""


def _wanted(connection: Connection) -> bool:
    return connection.dialect.name == "postgresql" and bool(
        connection.get_execution_options().get(OPTION, True)
    )


def execute(connection: Connection, sql: str, params: dict[str, Any]) -> Any:
    """Run driver-level ``sql`` (pyformat parameters) with ``params``, prepared on
    this connection the first time it runs here."""
    if not _wanted(connection):
        return connection.exec_driver_sql(sql, params)
    names: dict[str, str] = connection.connection.info.setdefault(NAMES, {})
    body, arguments = _as_prepared(sql)
    name = names.get(sql)
    if name is None:
        name = names[sql] = f"counters_{next(_serial)}"
        message = f"PREPARE {name} AS {body}; EXECUTE {name}{arguments}"
    else:
        message = f"EXECUTE {name}{arguments}"
    try:
        return connection.exec_driver_sql(message, params)
    except DBAPIError as error:
        code = str(getattr(error.orig, "pgcode", "") or "")
        if not code.startswith(_EXECUTE_FAILED):
            names.clear()  # unsure what this connection holds: new names from now on
        raise


_MESSAGE = re.compile(r"(?:PREPARE \w+ AS .*; )?EXECUTE (\w+)(?:\(.*\))?", re.DOTALL)


def original(connection: Connection, statement: str) -> str:
    """The SQL a ``PREPARE``/``EXECUTE`` message sent here stands for (``statement``
    itself otherwise): what logs and tests that read statements should see."""
    match = _MESSAGE.fullmatch(statement.strip())
    if match is not None:
        names = connection.connection.info.get(NAMES, {})
        for sql, name in names.items():
            if name == match.group(1):
                return sql
    return statement
