"""Temporary staging tables for bulk writes, and loading them the fastest way each database allows.

A chunk of rows is loaded into a session-local temporary table, then merged into the real tables with a few
set-based statements (`INSERT … SELECT … ON CONFLICT`, `UPDATE … FROM`). On PostgreSQL the load is one binary COPY
(asyncpg `copy_records_to_table` on the session's own connection, inside its transaction); on SQLite it is one
batched `executemany`. Either way the statements that follow are the same SQL on both databases, and no statement
carries more than a handful of bound parameters, however large the chunk.

The staging tables live in their own MetaData: they are not part of the schema Alembic manages.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, Column, Date, Enum, Integer, MetaData, String, Table, Uuid, delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.schema import CreateTable

from app.db.models import Job
from app.db.types import Micros

_STAGING = MetaData()
ENERGY_SNAPSHOT_COLUMNS = ("energy_mwh", "energy_measured_mwh", "co2e_mg", "co2e_measured_mg", "idle_gpu_us",
                           "idle_cost_micros", "util_gpu_us")


def _plain(column: Column[Any]) -> Column[Any]:
    """A copy of `column` without constraints: enums as their text, money as its raw micro-USD integer."""
    kind = column.type
    if isinstance(kind, Enum):
        kind = String(16)
    elif isinstance(kind, Micros):
        kind = BigInteger()
    return Column(column.name, kind)


def _temporary(name: str, *columns: Column[Any]) -> Table:
    # ON COMMIT DELETE ROWS: a PostgreSQL connection returned to the pool carries no staged rows over.
    return Table(name, _STAGING, *columns, prefixes=["TEMPORARY"], postgresql_on_commit="DELETE ROWS")


STAGED_JOBS = _temporary("jobcost_staged_jobs", *(_plain(c) for c in Job.__table__.columns))
"""The jobs of one chunk, costed and hashed, in the columns of `jobs` (money as micro-USD integers)."""

STAGED_SNAPSHOTS = _temporary(
    "jobcost_staged_snapshots",
    Column("job_pk", Uuid()), Column("day", Date()), Column("run_ms", BigInteger()), Column("gpu_us", BigInteger()),
    Column("cost_micros", BigInteger()),
    # The rollup keys of the snapshot's job ("" for a missing name), 1 on the job's first snapshot day, the day's
    # month (its first day) and 1 on the job's first snapshot day of that month.
    Column("team_id", Uuid()), Column("model_key", String(255)), Column("gpu_type_key", String(64)),
    Column("provider_key", String(64)), Column("user_key", String(255)), Column("status_key", String(16)),
    Column("first_day", Integer()), Column("month", Date()), Column("first_in_month", Integer()),
    # +1: a new snapshot, to insert; -1: a stored snapshot of a changed job, leaving (`app.db.rollups`).
    Column("sign", Integer()),
    # The day's energy figures, as `cost_snapshots` keeps them.
    *(Column(name, BigInteger()) for name in ENERGY_SNAPSHOT_COLUMNS),
)
"""The new cost snapshots of the jobs a chunk creates or changes (`sign` +1), and the stored ones they replace
(`sign` -1), with what the daily rollups are keyed by: every grain sums this one table."""

async def reset_staging(session: AsyncSession, *tables: Table) -> None:
    """Make `tables` exist on the session's connection and empty them (temporary tables are per connection).

    `CREATE … IF NOT EXISTS` every time rather than remembering that the table was made: its creation is part of
    a transaction, and a transaction that rolls back takes the table with it."""
    connection = await session.connection()
    for table in tables:
        await connection.execute(CreateTable(table, if_not_exists=True))
        await connection.execute(delete(table))


async def load_staging(session: AsyncSession, table: Table, columns: Sequence[str],
                       rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert `rows` (tuples of the values of `columns`, in that order; money as micro-USD `int`, enums as their
    value; JSON columns as their text on PostgreSQL, as the Python value on SQLite) into the staging `table`: one
    binary COPY on PostgreSQL, one executemany on SQLite."""
    if not rows:
        return
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        await connection.execute(table.insert(), [dict(zip(columns, row, strict=True)) for row in rows])
        return
    raw = await connection.get_raw_connection()
    await raw.driver_connection.copy_records_to_table(table.name, records=rows, columns=list(columns))
