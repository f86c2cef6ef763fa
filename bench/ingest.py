"""Bulk ingest throughput: the database's limit against the real server over HTTP (NDJSON and JSON batches), new
jobs and the same jobs sent again, on PostgreSQL and on SQLite.

For each N of `--jobs`, the same seeded synthetic jobs (`synthetic.py`: 50 teams, 200 models, 8 GPU types, 5
providers, a year of start times, ~2 cost snapshots a job) are written several ways, each into a database of its
own (PostgreSQL: a scratch database created, migrated with the real migrations, dropped, after a CHECKPOINT;
SQLite: a new file, migrated, after a WAL checkpoint):

  (a) the limit, no HTTP. The rows the service writes (jobs, cost snapshots, every rollup grain, the energy
      figures) are computed in Python before the clock starts, with the service's own costing, energy figures and
      hashing; the clock covers only the database work, per 10,000 jobs (the service's chunk) in one transaction.
      PostgreSQL: raw asyncpg COPY into temporary tables, `INSERT … ON CONFLICT DO NOTHING RETURNING`, one rollup
      upsert per grain, the snapshot insert (`synthetic.RawWriter`), PostgreSQL's default `plan_cache_mode`.
      SQLite: the standard library's `sqlite3` `executemany` of the same rows and the same set-based statements
      (`ingest_sqlite.SqliteRawWriter`).
  (a') (`--custom-plans`, PostgreSQL) the same rows with `plan_cache_mode=force_custom_plan`.
  (b) the server (`jobcost serve`, a subprocess, one uvicorn process) over loopback HTTP with NDJSON: all N jobs in
      ONE streamed request (`Content-Type: application/x-ndjson`, chunked), the body encoded before the clock
      starts; then (b again) the very same body once more to the same server and database (every job unchanged).
  (c) the same with JSON batches of `--batch` (10,000) jobs, one request after the other; then (c again).

Every way must leave the same rows: a fingerprint of each table (`ingest_rows`: every column but generated ids and
clocks) of (b) and (c) is compared with (a)'s, and a mismatch is printed with the first differing stored row.

Prints jobs/s, each as a ratio to (a) of its database; the time of each step of (a); the CPU time of the server
process and of the PostgreSQL backends during each (SQLite runs inside the server); the server's VmRSS, sampled
every 50 ms during each HTTP measurement (its maximum; VmHWM shows the start-up peak, not the run); the targets as
ratios (issue 17); the machine and PostgreSQL settings. `--profile` adds a cProfile of the server-side ingest of
10,000 jobs (in-process ASGI, JSON and NDJSON, PostgreSQL).

    .venv/bin/python bench/ingest.py [--jobs 100000,1000000] [--databases postgresql,sqlite] [--batch 10000]
                                     [--seed 7] [--custom-plans] [--profile]
                                     [--pg-url postgresql+asyncpg://postgres@127.0.0.1:5432/test]

The machine is shared with other work: compare the ratios of one run, not absolute figures across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sqlite3
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import ingest_profile
import ingest_rows as rows_of
import ingest_sqlite as lite
import synthetic as s

from app.db import migrate

INGEST = "/api/v1/admin/ingest/jobs"
TARGET_HTTP_SHARE = 0.7  # (b) and (c) at least 0.7 × (a)
TARGET_RESEND = 2.0  # identical jobs sent again at least 2 × the rate of new ones
TARGET_RSS_GROWTH = 1.5  # server VmRSS (sampled max) at the largest N at most 1.5 × that at the smallest
_COST_SUMS = {
    "snapshot µUSD": "SELECT sum(cost_micros) FROM cost_snapshots",
    "rollup µUSD": "SELECT sum(cost_hi) * 1000000 + sum(cost_lo) FROM daily_usage_costs",
}
POSTGRESQL, SQLITE = "PostgreSQL", "SQLite"


@dataclass(slots=True)
class Measure:
    """One timed write of N jobs: seconds, what it left in its database, for the HTTP ones the server's memory."""

    seconds: float
    written: rows_of.Written | None = None
    costs_agree: bool | None = None
    steps: dict[str, float] | None = None
    rss_start_mib: float | None = None
    rss_max_mib: float | None = None
    server_cpu_seconds: float | None = None
    database_cpu_seconds: float | None = None


@dataclass(slots=True)
class Database:
    """A fresh, migrated database of one kind: its SQLAlchemy URL, and its file on SQLite."""

    kind: str
    url: str
    path: Path | None = None


@contextlib.asynccontextmanager
async def fresh_database(kind: str, pg_url: str) -> AsyncIterator[Database]:
    if kind == POSTGRESQL:
        async with s.scratch_database(pg_url) as url:
            yield Database(kind, url)
        return
    with tempfile.TemporaryDirectory(prefix="jobcost-bench-", dir="/var/tmp") as tmp:
        path = Path(tmp) / "bench.db"
        url = lite.sqlite_url(path)
        await asyncio.to_thread(migrate.upgrade, url)
        yield Database(kind, url, path)


async def _checkpoint(db: Database | str) -> None:
    """Flush what earlier measurements left dirty (PostgreSQL: CHECKPOINT; SQLite: the WAL into the file)."""
    if isinstance(db, Database) and db.path is not None:
        lite.checkpoint(db.path)
        return
    url = db.url if isinstance(db, Database) else db
    connection = await asyncpg.connect(s.asyncpg_dsn(url))
    try:
        await connection.execute("CHECKPOINT")
    finally:
        await connection.close()


async def _database_cpu(db: Database) -> float | None:
    return None if db.path is not None else await s.backends_cpu_seconds(db.url)


async def left_in(db: Database) -> tuple[rows_of.Written, bool]:
    """The fingerprints of what a measurement wrote, and whether the snapshots' cost equals the rollups'."""
    if db.path is not None:
        with contextlib.closing(sqlite3.connect(db.path)) as connection:
            sums = [connection.execute(sql).fetchone()[0] for sql in _COST_SUMS.values()]
        return await asyncio.to_thread(rows_of.written_sqlite, str(db.path)), sums[0] == sums[1]
    connection = await asyncpg.connect(s.asyncpg_dsn(db.url))
    try:
        sums = [await connection.fetchval(sql) for sql in _COST_SUMS.values()]
    finally:
        await connection.close()
    return await rows_of.written_postgresql(db.url), sums[0] == sums[1]


async def raw_limit(kind: str, pg_url: str, n: int, batches: list[s.Batch], context: s.RowContext,
                    plan_cache_mode: str = "auto") -> Measure:
    """(a): the rows computed beforehand (`batches`, for the teams of `context`); only the database work timed."""
    async with fresh_database(kind, pg_url) as db:
        await s.row_context(db.url, like=context)
        await _checkpoint(db)
        database_cpu = await _database_cpu(db)
        if db.path is not None:
            writer = lite.SqliteRawWriter(db.path)
            try:
                started = time.perf_counter()
                written = sum(writer.write(batch) for batch in batches)
                seconds = time.perf_counter() - started
            finally:
                writer.close()
            steps = writer.seconds
        else:
            async with s.RawWriter.connect(db.url, plan_cache_mode) as raw:
                started = time.perf_counter()
                written = 0
                for batch in batches:
                    written += await raw.write(batch)
                seconds = time.perf_counter() - started
                database_cpu = await s.backends_cpu_seconds(db.url) - database_cpu
            steps = raw.seconds
        if written != n:
            raise SystemExit(f"(a) {kind}: {written:,} jobs inserted, expected {n:,}")
        left, agree = await left_in(db)
        return Measure(seconds, left, agree, steps, database_cpu_seconds=database_cpu)


async def precomputed(pg_url: str, n: int, seed: int) -> tuple[list[s.Batch], s.RowContext]:
    """The rows of the first `n` jobs as the service would write them, for the teams of a `RowContext`."""
    async with s.scratch_database(pg_url) as url:
        context = await s.row_context(url)
    started = time.perf_counter()
    batches = [s.prepared_block(block, count, seed, context) for block, count in s.blocks(n)]
    print(f"    rows for (a) computed in Python beforehand, not timed: {time.perf_counter() - started:.0f} s")
    return batches, context


Send = Callable[[httpx.AsyncClient, dict[str, str]], AsyncIterator[dict]]


async def _timed(server: s.Server, db: Database, client: httpx.AsyncClient, headers: dict[str, str], send: Send,
                 n: int, label: str, expect: str) -> Measure:
    """One sending of all `n` jobs by `send`, timed, with the server's VmRSS sampled; every job must be reported
    `expect` ("created" or "unchanged")."""
    rss_start, cpu_start = server.rss_mib(), server.cpu_seconds()
    database_cpu = await _database_cpu(db)
    counted = 0
    with server.sample_rss() as rss:
        started = time.perf_counter()
        async for report in send(client, headers):
            counted += report[expect]
            others = {k: report[k] for k in ("created", "updated", "unchanged", "failed") if k != expect}
            if any(others.values()):
                raise SystemExit(f"{label}: unexpected report {str(report)[:300]}")
        seconds = time.perf_counter() - started
    cpu = server.cpu_seconds() - cpu_start
    if database_cpu is not None:
        database_cpu = await s.backends_cpu_seconds(db.url) - database_cpu
    if counted != n:
        raise SystemExit(f"{label}: {counted:,} jobs {expect}, expected {n:,}")
    return Measure(seconds, rss_start_mib=rss_start, rss_max_mib=rss.max_mib, server_cpu_seconds=cpu,
                   database_cpu_seconds=database_cpu)


async def served(kind: str, pg_url: str, send: Send, n: int, label: str) -> tuple[Measure, Measure]:
    """Run `send` against a fresh server on a fresh database (every job new), then once more (every job
    unchanged); returns both measurements, the first with the rows it left."""
    async with fresh_database(kind, pg_url) as db:
        await s.create_users(db.url)
        await _checkpoint(db)
        async with s.Server(db.url) as server, httpx.AsyncClient(
                base_url=server.base_url, timeout=httpx.Timeout(None)) as client:
            headers = await s.bearer(client, s.ADMIN)
            new = await _timed(server, db, client, headers, send, n, label, "created")
            new.written, new.costs_agree = await left_in(db)
            await _checkpoint(db)
            again = await _timed(server, db, client, headers, send, n, f"{label} again", "unchanged")
    return new, again


async def _answer(response: httpx.Response, label: str) -> dict:
    if response.status_code != 200:
        raise SystemExit(f"{label}: {response.status_code} {response.text[:500]}")
    return response.json()


def ndjson_sender(blocks: list[bytes]) -> Send:
    """(b): one request streaming every job as NDJSON (blocks of 1,000 lines, encoded beforehand)."""
    async def send(client: httpx.AsyncClient, headers: dict[str, str]) -> AsyncIterator[dict]:
        async def body() -> AsyncIterator[bytes]:
            for block in blocks:
                yield block
        response = await client.post(INGEST, content=body(),
                                     headers={**headers, "Content-Type": "application/x-ndjson"})
        yield await _answer(response, "(b) NDJSON")
    return send


def json_sender(bodies: list[bytes]) -> Send:
    """(c): JSON bodies of `size` jobs (encoded beforehand), one request after the other."""
    async def send(client: httpx.AsyncClient, headers: dict[str, str]) -> AsyncIterator[dict]:
        for body in bodies:
            response = await client.post(INGEST, content=body,
                                         headers={**headers, "Content-Type": "application/json"})
            yield await _answer(response, "(c) JSON")
    return send


def _line(label: str, n: int, m: Measure, limit: Measure | None) -> str:
    rate = n / m.seconds
    text = f"  {label:26s} {n:>10,} jobs in {m.seconds:7.1f} s {rate:>9,.0f} jobs/s"
    text += f"  {limit.seconds / m.seconds:5.2f}x (a)" if limit is not None else " " * 11
    cpu = []
    if m.server_cpu_seconds is not None:
        cpu.append(f"server {m.server_cpu_seconds:.1f} s ({m.server_cpu_seconds / m.seconds:.0%})")
    if m.database_cpu_seconds is not None:
        cpu.append(f"PostgreSQL {m.database_cpu_seconds:.1f} s ({m.database_cpu_seconds / m.seconds:.0%})")
    text += "  CPU: " + ", ".join(cpu)
    if m.rss_max_mib is not None:
        text += f"  VmRSS {m.rss_start_mib:.0f} -> max {m.rss_max_mib:.0f} MiB"
    return text


def _print_steps(label: str, m: Measure) -> None:
    total = sum((m.steps or {}).values()) or 1.0
    print(f"    {label} time by step: " + ", ".join(f"{name} {seconds / total:.0%}"
                                              for name, seconds in (m.steps or {}).items()))


async def measure(kind: str, pg_url: str, n: int, size: int, limits: dict[str, Measure],
                  bodies: tuple[list[bytes], list[bytes]]) -> dict[str, Measure]:
    """The HTTP ways of one database kind for `n` jobs, against its (a) (and (a')) in `limits`."""
    print(f"  {kind}, N = {n:,}")
    results = dict(limits)
    print(_line("(a) raw " + ("COPY + merge" if kind == POSTGRESQL else "executemany"), n, results["a"], None))
    _print_steps("(a)", results["a"])
    if "a'" in results:
        print(_line("(a') (a), custom plans", n, results["a'"], results["a"]))
    for key, label, send in (("b", "(b) HTTP NDJSON, 1 req", ndjson_sender(bodies[0])),
                             ("c", f"(c) HTTP JSON, {size:,}/req", json_sender(bodies[1]))):
        results[key], results[key + "2"] = await served(kind, pg_url, send, n, label.split(",")[0])
        print(_line(label, n, results[key], results["a"]))
        print(_line(label.split(",")[0] + ", again", n, results[key + "2"], results["a"])
              + f"  {results[key].seconds / results[key + '2'].seconds:4.2f}x new")
    limit = results["a"].written
    if limit is None:
        raise SystemExit(f"(a) {kind}: nothing read back")
    counts = ", ".join(f"{table} {count:,}" for table, (count, _) in limit.fingerprints.items())
    print(f"    rows written: {counts}")
    for key, m in results.items():
        if m.written is None:
            continue
        differences = limit.differences(m.written) if key != "a" else []
        print(f"    ({key}) cost in snapshots = cost in rollups: {m.costs_agree}; every table as (a)'s: "
              + ("yes" if not differences else "NO: " + " | ".join(differences)))
    return results


def targets(results: dict[str, dict[int, dict[str, Measure]]]) -> None:
    print("targets (issue 17; ratios from this run)")

    def verdict(met: bool) -> str:
        return "met" if met else "MISSED"

    for kind, by_n in results.items():
        for n, r in by_n.items():
            parts = []
            for key, name in (("b", "(b) NDJSON"), ("c", "(c) JSON")):
                share = r["a"].seconds / r[key].seconds
                parts.append(f"{name} / (a) = {share:4.2f}x ({verdict(share >= TARGET_HTTP_SHARE)})")
            for key, name in (("b", "(b)"), ("c", "(c)")):
                again = r[key].seconds / r[key + "2"].seconds
                parts.append(f"{name} again / new = {again:4.2f}x ({verdict(again >= TARGET_RESEND)})")
            print(f"  {kind:10s} N = {n:>9,}: " + ";  ".join(parts))
        if len(by_n) > 1:
            small, large = min(by_n), max(by_n)
            for key, name in (("b", "(b) NDJSON"), ("c", "(c) JSON")):
                peaks = [max(by_n[size][key].rss_max_mib or 0, by_n[size][key + "2"].rss_max_mib or 0)
                         for size in (small, large)]
                growth = peaks[1] / peaks[0]
                print(f"  {kind:10s} {name:10s} server VmRSS max at {large:,} / at {small:,} = {peaks[1]:.0f} / "
                      f"{peaks[0]:.0f} MiB = {growth:4.2f}x  ({verdict(growth <= TARGET_RSS_GROWTH)})")
    print(f"  targets: (b), (c) >= {TARGET_HTTP_SHARE}x (a); again >= {TARGET_RESEND}x new; VmRSS at the largest N "
          f"<= {TARGET_RSS_GROWTH}x at the smallest")


async def measure_n(pg_url: str, n: int, seed: int, size: int, kinds: list[str],
                    custom_plans: bool) -> dict[str, dict[str, Measure]]:
    """Every database kind of `kinds` for `n` jobs: the rows for (a) computed once, the HTTP bodies encoded once."""
    print(f"N = {n:,}")
    batches, context = await precomputed(pg_url, n, seed)
    limits: dict[str, dict[str, Measure]] = {}
    if POSTGRESQL in kinds:
        limits[POSTGRESQL] = {"a": await raw_limit(POSTGRESQL, pg_url, n, batches, context)}
        if custom_plans:
            limits[POSTGRESQL]["a'"] = await raw_limit(POSTGRESQL, pg_url, n, batches, context, "force_custom_plan")
    if SQLITE in kinds:
        with tempfile.TemporaryDirectory() as tmp:
            converted = lite.sqlite_batches(batches, lite.sqlite_url(Path(tmp) / "dialect.db"))
        del batches
        limits[SQLITE] = {"a": await raw_limit(SQLITE, pg_url, n, converted, context)}
        del converted
    else:
        del batches
    records = list(s.job_records(n, seed))
    bodies = (s.ndjson_blocks(records), s.json_batches(records, size))
    del records
    out = {}
    for kind in kinds:
        out[kind] = await measure(kind, pg_url, n, size, limits[kind], bodies)
    return out


async def main(ns: list[int], kinds: list[str], seed: int, size: int, pg_url: str, custom_plans: bool,
               profile: bool) -> None:
    print(f"bulk ingest on {' and '.join(kinds)}, {', '.join(f'{n:,}' for n in ns)} synthetic jobs (seed {seed}); "
          "each measurement in a database of its own, after a checkpoint")
    for line in await s.machine_facts(pg_url):
        print(line)
    print(f"SQLite {sqlite3.sqlite_version} (Python's sqlite3), the app's pragmas: journal_mode=WAL, "
          "synchronous=NORMAL, foreign_keys=ON; files on the same disk as PostgreSQL's data")
    print(f"load average at start: {s.load_average()}")
    results: dict[str, dict[int, dict[str, Measure]]] = {kind: {} for kind in kinds}
    for n in ns:
        for kind, measures in (await measure_n(pg_url, n, seed, size, kinds, custom_plans)).items():
            results[kind][n] = measures
    targets(results)
    print(f"load average at end: {s.load_average()}")
    if profile:
        await ingest_profile.profile_server(pg_url, seed)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", default="100000,1000000", help="comma-separated job counts")
    parser.add_argument("--databases", default="postgresql,sqlite", help="postgresql, sqlite or both")
    parser.add_argument("--batch", type=int, default=10_000, help="jobs per JSON request in (c)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--pg-url", default=s.DEFAULT_PG_URL)
    parser.add_argument("--custom-plans", action="store_true",
                        help="also (a'): (a) with plan_cache_mode=force_custom_plan (PostgreSQL)")
    parser.add_argument("--profile", action="store_true", help="also profile the server-side ingest of 10,000 jobs")
    args = parser.parse_args()
    names = {"postgresql": POSTGRESQL, "sqlite": SQLITE}
    chosen = [names[name.strip().lower()] for name in args.databases.split(",")]
    s.exit_on_sigterm()
    try:
        asyncio.run(main([int(n) for n in args.jobs.split(",")], chosen, args.seed, args.batch, args.pg_url,
                         args.custom_plans, args.profile))
    except KeyboardInterrupt:
        raise SystemExit("interrupted: scratch databases dropped, servers stopped") from None
