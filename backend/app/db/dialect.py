"""Dialect-specific statement builders for the few places PostgreSQL and SQLite differ in syntax."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Date, Table, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


def insert_for(session: AsyncSession, table: Table | Any) -> Any:
    """An INSERT that supports `on_conflict_do_nothing/do_update` on the session's dialect."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"unsupported database dialect: {name}")


def in_code_point_order(session: AsyncSession, column: Any) -> Any:
    """`column` to sort by Unicode code point on both databases: SQLite's default (BINARY) order, and PostgreSQL's
    under `COLLATE "C"`, whatever the database's locale (en_US would put `b` before `C`, and `_` anywhere)."""
    if session.get_bind().dialect.name == "postgresql":
        return column.collate("C")
    return column


def label_value(dialect: str, labels: Any, key: str) -> Any:
    """The value of label `key` in a JSON `labels` column (NULL when absent), for any key: PostgreSQL's `->>` with
    the key bound; on SQLite a lookup through `json_each`, since a JSON path cannot spell every key."""
    if dialect == "postgresql":
        return labels[key].as_string()
    entries = func.json_each(labels).table_valued("key", "value").alias("label_entry")
    return select(entries.c.value).where(entries.c.key == key).scalar_subquery()


# Memory for the sorts and hashes of one analytics query on PostgreSQL: a query grouping tens of thousands of
# cells (a month of every team's models) spilled its aggregate to disk at the server's default of 4 MB.
ANALYTICS_WORK_MEM = "64MB"


async def widen_work_mem(session: AsyncSession) -> None:
    """Give the rest of the session's transaction `ANALYTICS_WORK_MEM` for sorts and hashes (PostgreSQL only;
    `SET LOCAL`, so it ends with the transaction and never outlives the request)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text(f"SET LOCAL work_mem = '{ANALYTICS_WORK_MEM}'"))


# The key of the advisory lock that writers of jobs, snapshots and rollups take (any fixed 64-bit number).
JOB_WRITERS_LOCK = 0x6A6F62636F7374  # "jobcost"


async def serialize_job_writers(session: AsyncSession) -> None:
    """Make the transaction of `session` the only one writing jobs, cost snapshots and rollups until it ends.

    On PostgreSQL a transaction-level advisory lock (`pg_advisory_xact_lock`, released at commit or rollback);
    on SQLite nothing: a writer's BEGIN IMMEDIATE already holds the database's one write lock. Readers never
    wait for it. Without it, two batches that share jobs could interleave between the statements of one merge:
    each statement sees the rows as they are when it runs, so a job could lose its snapshots or a rollup drift
    from them, and the two could deadlock.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(JOB_WRITERS_LOCK)))
        # The connections force custom plans for the reports (generic plans made year-long sums 2-3x slower), but
        # the foreign-key checks of a bulk insert run one cached query per row: forced to replan each time, the
        # snapshot inserts took 2.1x as long (bench/README.md). Writers go back to the default for this transaction.
        await session.execute(text("SET LOCAL plan_cache_mode = auto"))


# The key of the advisory lock the service's start-up writes take (any fixed 64-bit number, not JOB_WRITERS_LOCK).
STARTUP_LOCK = 0x6A6F62636F7374 + 1


async def serialize_startup(session: AsyncSession) -> None:
    """Make the transaction of `session` the only start-up write (the price catalog's sync) running until it ends,
    so that the workers of `jobcost serve --workers N`, all starting at once, sync one after the other: the first
    writes the catalog and its change log, the next find it current and write nothing.

    On PostgreSQL a transaction-level advisory lock; on SQLite nothing: the writer's BEGIN IMMEDIATE already holds
    the database's one write lock (the other workers wait up to the busy timeout for it).
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(STARTUP_LOCK)))


class month_start(FunctionElement[date]):  # noqa: N801 - used like a SQL function
    """The first day of the UTC calendar month of a DATE expression, as a DATE, on either database."""

    type = Date()
    inherit_cache = True


class week_start(FunctionElement[date]):  # noqa: N801 - used like a SQL function
    """The Monday of the ISO week (Monday to Sunday) of a DATE expression, as a DATE, on either database."""

    type = Date()
    inherit_cache = True


@compiles(month_start, "postgresql")
def _month_start_pg(element: month_start, compiler: Any, **kw: Any) -> str:
    return f"CAST(date_trunc('month', {compiler.process(element.clauses, **kw)}) AS DATE)"


@compiles(month_start, "sqlite")
def _month_start_sqlite(element: month_start, compiler: Any, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)}, 'start of month')"


@compiles(week_start, "postgresql")
def _week_start_pg(element: week_start, compiler: Any, **kw: Any) -> str:
    return f"CAST(date_trunc('week', {compiler.process(element.clauses, **kw)}) AS DATE)"


@compiles(week_start, "sqlite")
def _week_start_sqlite(element: week_start, compiler: Any, **kw: Any) -> str:
    # strftime('%w') is 0 on Sunday: back (w + 6) % 7 days to the Monday.
    day = compiler.process(element.clauses, **kw)
    return f"date({day}, '-' || ((CAST(strftime('%w', {day}) AS INTEGER) + 6) % 7) || ' days')"
