"""What `ingest.py` and `analytics.py` share: the seeded synthetic jobs, the rows the service would write for them,
the raw asyncpg COPY-and-merge path that writes those rows batch by batch (`RawWriter`), a faster bulk load of
the same rows for read benchmarks (`bulk_load`), a scratch PostgreSQL database, the real server as a subprocess,
and the machine and PostgreSQL facts a figure needs beside it.

The jobs: 50 teams, 200 models, 8 GPU types on 5 providers (most (provider, GPU) pairs priced by the bundled
catalog, so their cost is estimated; the on-premises provider and a few pairs are not, so those jobs are unpriced
unless billed), a quarter of them billed, start times over the calendar year 2025, runs from a minute to five
days (about 2 cost snapshots per job on average).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import itertools
import json
import math
import multiprocessing
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from random import Random
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from app.auth.service import AuthService
from app.core.config import Environment, Settings
from app.db import migrate
from app.db.engine import create_engine, create_sessionmaker
from app.db.models import Job, JobStatus, Role, Team
from app.db.models.daily_cost import ALL_GRAINS, SUM_COLUMNS, WASTED_STATUSES
from app.db.models.team import team_name_key
from app.db.staging import ENERGY_SNAPSHOT_COLUMNS
from app.ingestion.normalize import NormalizedJob, normalize_record
from app.ingestion.writer import job_row, snapshot_rows, stage_job
from app.pricing.catalog import default_catalog
from app.pricing.service import RateCard, load_rate_card, sync_catalog
from app.teams.service import ensure_teams

DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
ADMIN, MEMBER, PASSWORD = "bench-admin@example.test", "bench-member@example.test", "bench-password-0123"
SECRET_KEY = "bench-secret-key-" + "x" * 40
VENV_BIN = Path(__file__).resolve().parents[1] / ".venv" / "bin"

TEAMS, MODELS, USERS = 50, 200, 500
YEAR_START = datetime(2025, 1, 1, tzinfo=UTC)
YEAR_SECONDS = 365 * 86_400
# Provider → weight, and the GPU types the bundled catalog prices for it (`backend/app/data/gpu_prices.json`).
PROVIDERS = {"aws": 35, "gcp": 25, "azure": 15, "lambda": 15, "onprem": 10}
GPU_TYPES = ("H100", "A100-80GB", "A100-40GB", "L4", "T4", "V100", "A10G", "MI300X")
_PRICED = {
    "aws": ("H100", "A100-80GB", "A100-40GB", "L4", "T4", "V100", "A10G"),
    "gcp": ("H100", "A100-80GB", "A100-40GB", "L4", "T4", "V100"),
    "azure": ("H100", "A100-80GB", "A100-40GB", "T4"),
    "lambda": ("H100", "A100-80GB", "A100-40GB", "V100"),
    "onprem": (),
}
BILLED_SHARE = 0.25

JOB_COLUMNS = tuple(c.name for c in Job.__table__.columns)
SNAPSHOT_COLUMNS = ("job_pk", "day", "run_ms", "gpu_us", "cost_micros", "team_id", "model_key", "gpu_type_key",
                    "provider_key", "user_key", "status_key", "first_day", "month", "first_in_month",
                    *ENERGY_SNAPSHOT_COLUMNS)
# The columns of `cost_snapshots` among them (the rest are the rollup keys and flags).
STORED_SNAPSHOT_COLUMNS = (*SNAPSHOT_COLUMNS[:5], *ENERGY_SNAPSHOT_COLUMNS)
# Every rollup grain the service keeps: (table, key columns, period).
ROLLUP_GRAINS = tuple((grain.table.name, grain.key_columns, grain.period) for grain in ALL_GRAINS)


# --- the jobs --------------------------------------------------------------------------------------------------

def _run_seconds(rng: Random) -> int:
    """Minutes (40 %), hours (30 %) or days (30 %): a mean run of about a day, so about 2 UTC days per job."""
    kind = rng.random()
    if kind < 0.4:
        return rng.randrange(60, 3_600)
    if kind < 0.7:
        return rng.randrange(3_600, 86_400)
    return rng.randrange(86_400, 5 * 86_400)


_PROVIDER_NAMES = tuple(PROVIDERS)
_PROVIDER_CUMULATIVE = tuple(itertools.accumulate(PROVIDERS.values()))
_STATUSES, _STATUS_CUMULATIVE = ("succeeded", "failed", "cancelled"), (85, 95, 100)


def _provider_and_gpu(rng: Random) -> tuple[str, str]:
    provider = rng.choices(_PROVIDER_NAMES, cum_weights=_PROVIDER_CUMULATIVE)[0]
    priced = _PRICED[provider]
    gpu = rng.choice(priced) if priced and rng.random() < 0.9 else rng.choice(GPU_TYPES)
    return provider, gpu


def _stamp(instant: datetime) -> str:
    return instant.isoformat().replace("+00:00", "Z")


BLOCK = 10_000  # jobs drawn from one seeded generator: any block can be made on its own, in any process


def block_records(block: int, seed: int, count: int = BLOCK) -> list[dict[str, Any]]:
    """Jobs `block × BLOCK` to `block × BLOCK + count - 1` in the wire shape of `JobIn` (ids `job-00000000`…),
    the same for the same seed."""
    rng = Random(f"{seed}/{block}")  # noqa: S311 - reproducible test data, not secrets
    records = []
    for i in range(block * BLOCK, block * BLOCK + count):
        provider, gpu = _provider_and_gpu(rng)
        start = YEAR_START + timedelta(seconds=rng.randrange(YEAR_SECONDS))
        end = start + timedelta(seconds=_run_seconds(rng))
        status = rng.choices(_STATUSES, cum_weights=_STATUS_CUMULATIVE)[0]
        record: dict[str, Any] = {
            "job_id": f"job-{i:08d}", "team": f"team-{rng.randrange(TEAMS):02d}", "status": status,
            "model_name": f"model-{rng.randrange(MODELS):03d}", "gpu_type": gpu,
            "gpu_count": rng.choice((1, 1, 2, 4, 8)), "provider": provider, "user": f"user-{rng.randrange(USERS)}",
            "submitted_at": _stamp(start - timedelta(seconds=rng.randrange(600))),
            "started_at": _stamp(start), "ended_at": _stamp(end),
        }
        if rng.random() < BILLED_SHARE:
            cents = rng.randrange(1, 10**7)
            record["cost"] = f"{cents // 100}.{cents % 100:02d}"
        if rng.random() < 0.5:
            record["labels"] = {"project": f"project-{rng.randrange(20)}"}
        records.append(record)
    return records


def blocks(n: int) -> list[tuple[int, int]]:
    """`(block, count)` for the blocks of the first `n` jobs."""
    return [(block, min(BLOCK, n - block * BLOCK)) for block in range(math.ceil(n / BLOCK))]


def job_records(n: int, seed: int) -> Iterator[dict[str, Any]]:
    """The first `n` synthetic jobs, in job_id order."""
    for block, count in blocks(n):
        yield from block_records(block, seed, count)


def team_names() -> list[str]:
    return [f"team-{i:02d}" for i in range(TEAMS)]


def ndjson_blocks(records: Iterable[dict[str, Any]], lines_per_block: int = 1_000) -> list[bytes]:
    """The records as NDJSON, cut into blocks of whole lines (what the client streams, one block per write)."""
    blocks, lines = [], []
    for record in records:
        lines.append(json.dumps(record, separators=(",", ":")))
        if len(lines) == lines_per_block:
            blocks.append(("\n".join(lines) + "\n").encode())
            lines = []
    if lines:
        blocks.append(("\n".join(lines) + "\n").encode())
    return blocks


def json_batches(records: Iterable[dict[str, Any]], size: int) -> list[bytes]:
    """The records as `{"jobs": [...]}` bodies of `size` jobs each."""
    bodies, part = [], []
    for record in records:
        part.append(record)
        if len(part) == size:
            bodies.append(json.dumps({"jobs": part}, separators=(",", ":")).encode())
            part = []
    if part:
        bodies.append(json.dumps({"jobs": part}, separators=(",", ":")).encode())
    return bodies


# --- the rows the service writes ---------------------------------------------------------------------------------

@dataclass(slots=True)
class Batch:
    """One chunk of jobs as the service would write it: `jobs` in the columns of `jobs` (`JOB_COLUMNS`, money as
    micro-USD, labels as JSON text), sorted by job_id; `snapshots` in `SNAPSHOT_COLUMNS` (the staged snapshots:
    with their rollup keys and first-day flag)."""

    jobs: list[tuple[Any, ...]] = field(default_factory=list)
    snapshots: list[tuple[Any, ...]] = field(default_factory=list)


@dataclass(slots=True)
class RowContext:
    """What costing a job needs: its team's id by name key, the rate card, the time of ingest."""

    team_ids: dict[str, uuid.UUID]
    rate_card: RateCard
    now: datetime


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def normalized(record: dict[str, Any]) -> NormalizedJob:
    """What `normalize_record` makes of a synthetic record, without its validation (these records are valid by
    construction; `prepare_batch` checks a sample of each batch against `normalize_record` itself)."""
    return NormalizedJob(
        job_id=record["job_id"], team=record["team"], status=JobStatus(record["status"]),
        model_name=record["model_name"], gpu_type=record["gpu_type"], gpu_milli=record["gpu_count"] * 1000,
        provider=record["provider"], user_name=record["user"], submitted_at=_instant(record["submitted_at"]),
        started_at=_instant(record["started_at"]), ended_at=_instant(record["ended_at"]), observed_at=None,
        billed_cost=Decimal(record["cost"]) if "cost" in record else None, labels=record.get("labels", {}))


def _check_sample(records: Sequence[dict[str, Any]], now: datetime, size: int = 50) -> None:
    catalog = default_catalog()
    for raw in records[:size]:
        expected = normalize_record(raw, now=now, catalog=catalog)
        if expected != normalized(raw):
            raise ValueError(f"synthetic record {raw['job_id']}: normalize_record gives {expected}")


def prepare_batch(records: Sequence[dict[str, Any]], context: RowContext) -> Batch:
    """The rows `JobIngestionService` writes for `records` (all new, all valid), computed with the service's own
    code for everything past validation: its costing, content hash, job row and snapshot rows. Raises ValueError
    when `normalize_record` disagrees with `normalized` on the batch's first records."""
    _check_sample(records, context.now)
    prepared = sorted((stage_job(normalized(raw), context.rate_card)
                       for raw in records), key=lambda p: p.job.job_id)
    batch = Batch()
    for p in prepared:
        pk, team_id = uuid.uuid4(), context.team_ids[team_name_key(p.job.team)]
        row = job_row(p, pk, team_id, context.now)  # the very same rows
        row["labels"] = json.dumps(row["labels"], ensure_ascii=False, separators=(",", ":"))
        batch.jobs.append(tuple(row[name] for name in JOB_COLUMNS))
        batch.snapshots.extend(tuple(s[name] for name in SNAPSHOT_COLUMNS)
                               for s in snapshot_rows(p, pk, team_id))
    return batch


def prepared_block(block: int, count: int, seed: int, context: RowContext) -> Batch:
    """The service rows of one block of synthetic jobs (a `Batch` of up to `BLOCK` jobs)."""
    return prepare_batch(block_records(block, seed, count), context)


async def row_context(url: str, like: RowContext | None = None) -> RowContext:
    """Create the synthetic teams and the catalog's prices in the database at `url` (as the server's start-up and
    first ingest would) and read back what costing needs. With `like`, the teams get the ids of `like`'s (so rows
    computed for another database can be written here too)."""
    engine = create_engine(bench_settings(url))
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            await sync_catalog(session, default_catalog())
            if like is not None:
                session.add_all(Team(id=team_id, name=key, name_key=key) for key, team_id in like.team_ids.items())
                return like
            teams = await ensure_teams(session, team_names())
            rate_card = await load_rate_card(session)
    finally:
        await engine.dispose()
    return RowContext({key: team.id for key, team in teams.items()}, rate_card, datetime.now(UTC))


# --- the raw path: asyncpg COPY into staging tables and a set-based merge ------------------------------------------

def _rollup_sql(table: str, keys: Sequence[str], period: str, source: str = "bench_staged_snapshots") -> str:
    """Add the snapshots of `source` (in `SNAPSHOT_COLUMNS`) to one rollup grain: the sums of `app.db.rollups`,
    per cell, in key order (a month grain counts a job once a month)."""
    key_list = ", ".join(keys)
    wasted = "status_key IN (" + ", ".join(f"'{status.value}'" for status in WASTED_STATUSES) + ")"
    job_count = "SUM(first_in_month)" if period == "month" else "COUNT(*)"
    sums = ("COALESCE(SUM(cost_micros / 1000000), 0), COALESCE(SUM(cost_micros % 1000000), 0), "
            "SUM(gpu_us / 1000000), SUM(gpu_us % 1000000), "
            "SUM(CASE WHEN cost_micros IS NULL THEN gpu_us / 1000000 ELSE 0 END), "
            "SUM(CASE WHEN cost_micros IS NULL THEN gpu_us % 1000000 ELSE 0 END), "
            f"SUM(CASE WHEN {wasted} THEN COALESCE(cost_micros, 0) / 1000000 ELSE 0 END), "
            f"SUM(CASE WHEN {wasted} THEN COALESCE(cost_micros, 0) % 1000000 ELSE 0 END), "
            f"{job_count}, SUM(first_day), "
            + ", ".join(f"SUM({name} / 1000000), SUM({name} % 1000000)" for name in ENERGY_SNAPSHOT_COLUMNS))
    updates = ", ".join(f"{name} = {table}.{name} + EXCLUDED.{name}" for name in SUM_COLUMNS)
    return (f"INSERT INTO {table} ({key_list}, {', '.join(SUM_COLUMNS)}) "  # noqa: S608 - names, no input
            f"SELECT {key_list}, {sums} FROM {source} GROUP BY {key_list} ORDER BY {key_list} "
            f"ON CONFLICT ({key_list}) DO UPDATE SET {updates}")


_SNAPSHOT_TERMS = ("(job_pk uuid, day date, run_ms bigint, gpu_us bigint, cost_micros bigint, team_id uuid, "
                   "model_key varchar(255), gpu_type_key varchar(64), provider_key varchar(64), "
                   "user_key varchar(255), status_key varchar(16), first_day integer, month date, "
                   "first_in_month integer, "
                   + ", ".join(f"{name} bigint" for name in ENERGY_SNAPSHOT_COLUMNS) + ")")
_STAGING_DDL = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS bench_staged_jobs (LIKE jobs) ON COMMIT DELETE ROWS",
    f"CREATE TEMPORARY TABLE IF NOT EXISTS bench_staged_snapshots {_SNAPSHOT_TERMS} ON COMMIT DELETE ROWS",
)
_NEW_JOBS_SQL = (f"INSERT INTO jobs ({', '.join(JOB_COLUMNS)}) SELECT {', '.join(JOB_COLUMNS)} "  # noqa: S608
                 "FROM bench_staged_jobs ORDER BY job_id ON CONFLICT (job_id) DO NOTHING RETURNING id")
SNAPSHOTS_SQL = (f"INSERT INTO cost_snapshots ({', '.join(STORED_SNAPSHOT_COLUMNS)}) "  # noqa: S608 - names
                  f"SELECT {', '.join(STORED_SNAPSHOT_COLUMNS)} FROM bench_staged_snapshots")
ROLLUPS_SQL = tuple(_rollup_sql(table, keys, period) for table, keys, period in ROLLUP_GRAINS)


class RawWriter:
    """Writes `Batch`es the way the service's merge does, minus the HTTP, the ORM and the Python work: per batch,
    one transaction of COPY of the job rows into a temporary table, `INSERT … SELECT … ON CONFLICT (job_id) DO
    NOTHING RETURNING id`, COPY of the inserted jobs' snapshots, one `INSERT … ON CONFLICT DO UPDATE` per rollup
    grain, and the snapshot insert. A fresh load: jobs already stored are left alone (with their snapshots).
    `seconds` adds up the time of each step over the batches written ("other": BEGIN, COMMIT, the rest)."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection
        self.seconds: dict[str, float] = {}
        self.total = 0.0

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(cls, url: str, plan_cache_mode: str = "auto") -> AsyncIterator[RawWriter]:
        """A writer on a connection of its own (`plan_cache_mode` as PostgreSQL's setting of that name)."""
        connection = await asyncpg.connect(asyncpg_dsn(url), server_settings={"timezone": "UTC",
                                                                             "plan_cache_mode": plan_cache_mode})
        try:
            for statement in _STAGING_DDL:
                await connection.execute(statement)
            yield cls(connection)
        finally:
            await connection.close()

    @contextlib.contextmanager
    def _step(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started

    async def write(self, batch: Batch) -> int:
        """Write one batch in one transaction; returns the number of jobs inserted."""
        connection = self.connection
        started = time.perf_counter()
        async with connection.transaction():
            with self._step("COPY jobs"):
                await connection.copy_records_to_table("bench_staged_jobs", records=batch.jobs,
                                                       columns=JOB_COLUMNS)
            with self._step("insert jobs"):
                inserted = {row[0] for row in await connection.fetch(_NEW_JOBS_SQL)}
            snapshots = [s for s in batch.snapshots if s[0] in inserted]
            if snapshots:
                with self._step("COPY snapshots"):
                    await connection.copy_records_to_table("bench_staged_snapshots", records=snapshots,
                                                           columns=SNAPSHOT_COLUMNS)
                for (table, _, _), statement in zip(ROLLUP_GRAINS, ROLLUPS_SQL, strict=True):
                    with self._step(table):
                        await connection.execute(statement)
                with self._step("insert snapshots"):
                    await connection.execute(SNAPSHOTS_SQL)
        self.total += time.perf_counter() - started
        self.seconds["other"] = self.total - sum(v for k, v in self.seconds.items() if k != "other")
        return len(inserted)


# --- the bulk load: worker processes COPY straight into the tables, the rollups summed once at the end ----------

_TERMS_TABLE = "bench_snapshot_terms"
_TABLE_CONSTRAINTS = """
    SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), contype::text FROM pg_constraint
    WHERE conrelid IN ('jobs'::regclass, 'cost_snapshots'::regclass) AND contype IN ('p', 'u', 'f')
    ORDER BY conrelid::regclass::text, conname"""
_TABLE_INDEXES = """
    SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('jobs', 'cost_snapshots')
    AND indexname NOT IN (SELECT conname FROM pg_constraint) ORDER BY indexname"""
_worker: dict[str, Any] = {}


def _worker_start(url: str, seed: int, context: RowContext) -> None:
    loop = asyncio.new_event_loop()
    connection = loop.run_until_complete(asyncpg.connect(asyncpg_dsn(url), server_settings={"timezone": "UTC"}))
    _worker.update(loop=loop, connection=connection, seed=seed, context=context)
    atexit.register(lambda: loop.run_until_complete(connection.close()))


def _worker_load(block: int, count: int) -> int:
    """Compute one block's rows and COPY them: jobs, snapshots, and the snapshots' rollup terms."""
    batch = prepared_block(block, count, _worker["seed"], _worker["context"])
    connection: asyncpg.Connection = _worker["connection"]

    async def copy() -> None:
        async with connection.transaction():
            await connection.copy_records_to_table("jobs", records=batch.jobs, columns=JOB_COLUMNS)
            await connection.copy_records_to_table("cost_snapshots", records=[
                (*row[:5], *row[-len(ENERGY_SNAPSHOT_COLUMNS):]) for row in batch.snapshots],
                columns=STORED_SNAPSHOT_COLUMNS)
            await connection.copy_records_to_table(_TERMS_TABLE, records=batch.snapshots, columns=SNAPSHOT_COLUMNS)

    _worker["loop"].run_until_complete(copy())
    return len(batch.jobs)


async def _schema_of(connection: asyncpg.Connection) -> tuple[list[Any], list[Any]]:
    return ([tuple(r) for r in await connection.fetch(_TABLE_CONSTRAINTS)],
            [tuple(r) for r in await connection.fetch(_TABLE_INDEXES)])


async def bulk_load(url: str, n: int, seed: int, workers: int) -> dict[str, float]:
    """Load the first `n` synthetic jobs into the empty, migrated database at `url` with the rows the service
    writes (jobs, snapshots, rollups), fast: the indexes and key constraints of `jobs` and `cost_snapshots` are
    dropped, `workers` processes compute blocks of rows (the service's own costing) and COPY them in, every
    rollup is summed once from the snapshots' terms, then the indexes and constraints are made again (checked
    identical to the migrated schema) and every table vacuumed and analysed. Returns the seconds of each step."""
    context = await row_context(url)
    connection = await asyncpg.connect(asyncpg_dsn(url), server_settings={"timezone": "UTC", "work_mem": "256MB",
                                                                         "maintenance_work_mem": "1GB"})
    steps: dict[str, float] = {}
    clock = time.perf_counter()

    def step(name: str) -> None:
        nonlocal clock
        steps[name] = time.perf_counter() - clock
        clock = time.perf_counter()

    try:
        constraints, indexes = await _schema_of(connection)
        for table, name, _, _ in sorted(constraints, key=lambda c: c[3] != "f"):  # foreign keys first
            await connection.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        for name, _ in indexes:
            await connection.execute(f"DROP INDEX {name}")
        await connection.execute(f"CREATE UNLOGGED TABLE {_TERMS_TABLE} {_SNAPSHOT_TERMS}")
        await _run_workers(url, n, seed, workers, context)
        step("rows computed and copied")
        for table, keys, period in ROLLUP_GRAINS:
            await connection.execute(_rollup_sql(table, keys, period, _TERMS_TABLE))
        await connection.execute(f"DROP TABLE {_TERMS_TABLE}")
        step("rollups")
        for _, definition in indexes:
            await connection.execute(definition)
        for table, name, definition, _ in sorted(constraints, key=lambda c: c[3] == "f"):  # foreign keys last
            await connection.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
        if await _schema_of(connection) != (constraints, indexes):
            raise RuntimeError("bulk load: the indexes and constraints made again differ from the migrated ones")
        step("indexes and constraints")
        await connection.execute("VACUUM ANALYZE")
        step("vacuum analyze")
    finally:
        await connection.close()
    return steps


async def _run_workers(url: str, n: int, seed: int, workers: int, context: RowContext) -> None:
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_start,
                             initargs=(url, seed, context)) as pool:
        try:
            futures = [loop.run_in_executor(pool, _worker_load, block, count) for block, count in blocks(n)]
            loaded = sum(await asyncio.gather(*futures))
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    if loaded != n:
        raise RuntimeError(f"bulk load: {loaded:,} jobs loaded, expected {n:,}")


# --- databases, users, the server ---------------------------------------------------------------------------------

def asyncpg_dsn(url: str) -> str:
    """A SQLAlchemy `postgresql+asyncpg://` URL as the DSN asyncpg takes."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def bench_settings(url: str) -> Settings:
    return Settings(env=Environment.production, database_url=url, secret_key=SECRET_KEY)


@contextlib.asynccontextmanager
async def kept_database(pg_url: str, name: str, n: int, seed: int, workers: int,
                        member_teams: Sequence[str] = ()) -> AsyncIterator[str]:
    """The database `name` on the server of `pg_url`, loaded with `n` synthetic jobs by `bulk_load` and its users
    made (a member of `member_teams`), and kept after the run: a later run with the same name finds it loaded (its
    jobs counted), brings it to the current migration head, and skips the load. For benchmarks whose load takes
    longer than their queries."""
    url = make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    admin = await asyncpg.connect(asyncpg_dsn(pg_url))
    try:
        exists = await admin.fetchval("SELECT count(*) FROM pg_database WHERE datname = $1", name)
        if not exists:
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    await asyncio.to_thread(migrate.upgrade, url)
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        loaded = await connection.fetchval("SELECT count(*) FROM jobs")
    finally:
        await connection.close()
    if loaded != n:
        if loaded:
            raise SystemExit(f"database {name} holds {loaded:,} jobs, not {n:,}: drop it first")
        started = time.perf_counter()
        steps = await bulk_load(url, n, seed, workers)
        print(f"  N = {n:,}: loaded in {time.perf_counter() - started:.0f} s ("
              + ", ".join(f"{step} {seconds:.0f} s" for step, seconds in steps.items()) + f"), kept as {name}")
        await create_users(url, member_teams)
    else:
        print(f"  N = {n:,}: reusing the loaded database {name}")
    yield url


@contextlib.asynccontextmanager
async def scratch_database(pg_url: str) -> AsyncIterator[str]:
    """A new database on the server of `pg_url`, migrated to head with the real migrations; yields its URL and
    drops it on the way out (also when interrupted)."""
    url = make_url(pg_url)
    name = f"jobcost_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(asyncpg_dsn(pg_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            scratch_url = url.set(database=name).render_as_string(hide_password=False)
            await asyncio.to_thread(migrate.upgrade, scratch_url)
            yield scratch_url
        finally:
            await asyncio.shield(admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.close()


async def create_users(url: str, member_teams: Sequence[str] = ()) -> None:
    """The benchmark's admin, and a member of `member_teams` when some are named."""
    settings = bench_settings(url)
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            auth = AuthService(session, settings)
            await auth.create_user(ADMIN, PASSWORD, Role.admin)
            if member_teams:
                await auth.create_user(MEMBER, PASSWORD, Role.member, list(member_teams))
    finally:
        await engine.dispose()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _status_kib(pid: int, field_name: str) -> int:
    """A `VmHWM`/`VmRSS` line of /proc/<pid>/status, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field_name} in /proc/{pid}/status")


class Server:
    """`jobcost serve` as a subprocess on a free loopback port, on the database at `url`; one uvicorn process
    (no worker processes: `--workers 1` serves in the process started), so its /proc status is the server's."""

    def __init__(self, url: str, env: dict[str, str] | None = None) -> None:
        self.url = url
        self.env = env or {}
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="jobcost-bench-server-", suffix=".log", delete=False)  # noqa: SIM115
        self.process: subprocess.Popen[bytes] | None = None

    def _spawn(self) -> None:
        """Start `jobcost serve` (Popen returns at once). Its own session: a Ctrl-C reaches only this script,
        which then stops the server itself."""
        env = {**os.environ, "DATABASE_URL": self.url, "JOBCOST_SECRET_KEY": SECRET_KEY,
               "JOBCOST_ENV": "production", "JOBCOST_ACCESS_TOKEN_MINUTES": "1440", "JOBCOST_LOG_LEVEL": "WARNING",
               **self.env}
        self.process = subprocess.Popen(  # noqa: S603 - our own entry point
            [str(VENV_BIN / "jobcost"), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def _check_single_process(self) -> None:
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
        if children:
            raise RuntimeError(f"the server process {self.pid} has children {children}: not the serving process")

    async def __aenter__(self) -> Server:
        self._spawn()
        try:
            await self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    async def __aexit__(self, *_: object) -> None:
        self.stop()

    async def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient(base_url=self.base_url, timeout=2) as client:
            while time.monotonic() < deadline:
                if self.process is None or self.process.poll() is not None:
                    raise RuntimeError(f"the server exited at start-up:\n{self.log_tail()}")
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/health")).status_code < 500:
                        break
                await asyncio.sleep(0.2)
            else:
                raise RuntimeError(f"the server did not answer within 60 s:\n{self.log_tail()}")
        self._check_single_process()

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("the server has not been started")
        return self.process.pid

    def peak_rss_mib(self) -> float:
        """The server process's peak resident memory so far (VmHWM), MiB: mostly its start-up peak, since the
        import of everything can touch more memory than an ingest keeps. `sample_rss` is what a run needs."""
        return _status_kib(self.pid, "VmHWM") / 1024

    def sample_rss(self, interval: float = 0.05) -> RssSampler:
        """A sampler of the server's VmRSS every `interval` seconds, for a `with` block (`.max_mib` after)."""
        return RssSampler(self.pid, interval)

    def rss_mib(self) -> float:
        return _status_kib(self.pid, "VmRSS") / 1024

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the server process has used so far."""
        return process_cpu_seconds(self.pid)

    def log_tail(self, lines: int = 30) -> str:
        self.log.flush()
        return "\n".join(Path(self.log.name).read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s) and remove its log."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.log.name)


class RssSampler:
    """Polls `/proc/<pid>/status` VmRSS from a thread of its own every `interval` seconds while its `with` block
    runs (the event loop of the benchmark may be busy sending), and keeps the largest value: the resident memory
    of the process during a run, which VmHWM does not show once the start-up peak is higher."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid, self.interval = pid, interval
        self.max_kib = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"rss-{pid}", daemon=True)

    def _run(self) -> None:
        while True:
            with contextlib.suppress(FileNotFoundError, RuntimeError):
                self.max_kib = max(self.max_kib, _status_kib(self.pid, "VmRSS"))
                self.samples += 1
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        with contextlib.suppress(FileNotFoundError, RuntimeError):  # one last sample, at the end
            self.max_kib = max(self.max_kib, _status_kib(self.pid, "VmRSS"))

    @property
    def max_mib(self) -> float:
        return self.max_kib / 1024


async def bearer(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    """The Authorization header of `email` (password `PASSWORD`), signed in through `/api/v1/auth/token`."""
    response = await client.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
    if response.status_code != 200:
        raise RuntimeError(f"sign-in of {email} failed: {response.status_code} {response.text[:300]}")
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def exit_on_sigterm() -> None:
    """Turn SIGTERM into KeyboardInterrupt, so the `finally` blocks that drop databases and stop servers run."""
    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, interrupt)


# --- facts printed with every figure ------------------------------------------------------------------------------

PG_SETTINGS = ("shared_buffers", "max_wal_size", "checkpoint_timeout", "work_mem", "synchronous_commit")


async def machine_facts(pg_url: str) -> list[str]:
    """Lines naming the machine, Python and PostgreSQL, and the PostgreSQL settings of the run."""
    connection = await asyncpg.connect(asyncpg_dsn(pg_url))
    try:
        version = await connection.fetchval("SHOW server_version")
        settings = {name: await connection.fetchval(f"SHOW {name}") for name in PG_SETTINGS}
    finally:
        await connection.close()
    return [*_machine_lines(version, pg_url),
            "PostgreSQL settings: " + ", ".join(f"{name}={value}" for name, value in settings.items())]


def _machine_lines(version: str, pg_url: str) -> list[str]:
    memory_kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal:"))
    return [f"machine: {os.cpu_count()} CPUs, {memory_kib / 1024**2:.1f} GiB memory, {platform.system()} "
            f"{platform.release()}; Python {sys.version.split()[0]}; asyncpg {asyncpg.__version__}; "
            f"PostgreSQL {version} on {make_url(pg_url).host}"]


def process_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) process `pid` has used so far; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


async def backends_cpu_seconds(url: str) -> float:
    """CPU time used so far by the PostgreSQL backends connected to the database of `url` (the server on this
    machine): how much of a measurement PostgreSQL itself computed."""
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        pids = [row[0] for row in await connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")]
    finally:
        await connection.close()
    return sum(process_cpu_seconds(pid) for pid in pids)


def load_average() -> str:
    """The 1, 5 and 15-minute load averages (other work on this shared machine shows here)."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def percentile(samples: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of `samples` (`fraction` 0.5 for p50, 0.95 for p95)."""
    ordered = sorted(samples)
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]
