"""Recosting throughput on PostgreSQL: jobs recosted per second after a rate change, against (a) of `ingest.py`.

For each N of `--jobs`, in ONE scratch database (created, migrated with the real migrations, dropped):

  (a) the seeded synthetic jobs of `ingest.py` (`synthetic.py`) written the way (a) of `ingest.py` writes them
      (raw asyncpg COPY-and-merge per 10,000 jobs, the rows computed beforehand with the service's own costing;
      only the database work is timed): the limit a write path can reach on this machine, in jobs/s;
  (r) a rate change touching every non-billed job: a rate at +10 % (from 2024-12-01, before every job) for each
      (provider, GPU type) of the synthetic jobs, the pairs the catalog leaves unpriced included; then the server
      (`jobcost serve`, a subprocess, one uvicorn process, `JOBCOST_RECOST_INLINE_MAX_JOBS=0`) is asked to recost
      (`POST /api/v1/admin/prices/recost`) and polled until its operation succeeds. Timed from the request to the
      operation's end; jobs recosted per second, as a ratio to (a)'s jobs/s.

Prints both rates, their ratio, the server's RSS at start and its maximum during the recost (VmRSS sampled
every 50 ms), the CPU time of the
server and of PostgreSQL, the check that the rollups still equal the snapshots, and the targets (ratio >= 0.5 at
the largest N; peak RSS at the largest N <= 1.5 x that at the smallest). `--profile` adds a cProfile of an
in-process recost of the smallest N (where the server's Python time goes).

    .venv/bin/python bench/recost.py [--jobs 100000,300000] [--chunk 5000] [--seed 7] [--profile]
                                     [--pg-url postgresql+asyncpg://postgres@127.0.0.1:5432/test]

The machine is shared with other work: compare the ratios of one run, not absolute figures across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import ingest as ib
import ingest_profile
import synthetic as s
from sqlalchemy import event

from app.db.engine import create_engine, create_sessionmaker
from app.db.models import GpuPrice
from app.pricing.service import load_rate_card

RECOST = "/api/v1/admin/prices/recost"
TARGET_RATIO = 0.5
TARGET_RSS_GROWTH = 1.5
CHANGE_FROM = datetime(2024, 12, 1, tzinfo=UTC)
UNPRICED_RATE_MICROS = 1_500_000  # USD 1.50 per GPU-hour for the pairs the catalog leaves unpriced


@dataclass(slots=True)
class Recost:
    seconds: float
    report: dict
    rss_start_mib: float
    peak_rss_mib: float
    server_cpu_seconds: float
    database_cpu_seconds: float
    consistent: bool


async def change_rates(url: str) -> int:
    """The rate change: +10 % on every priced pair, a rate for every unpriced one, all from `CHANGE_FROM`."""
    engine = create_engine(s.bench_settings(url))
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            card = await load_rate_card(session)
            rows = []
            for provider in s.PROVIDERS:
                for gpu_type in s.GPU_TYPES:
                    points = card.points_for(provider, gpu_type)
                    micros = points[-1].micros_per_gpu_hour * 11 // 10 if points else UNPRICED_RATE_MICROS
                    rows.append(GpuPrice(provider=provider, gpu_type=gpu_type,
                                         usd_per_gpu_hour=Decimal(micros).scaleb(-6), valid_from=CHANGE_FROM,
                                         source="bench/recost.py", source_date=date(2026, 12, 6)))
            session.add_all(rows)
        return len(rows)
    finally:
        await engine.dispose()


async def _scalar(url: str, sql: str) -> int:
    connection = await asyncpg.connect(s.asyncpg_dsn(url))
    try:
        return int(await connection.fetchval(sql) or 0)
    finally:
        await connection.close()


async def served_recost(url: str, chunk: int) -> Recost:
    """(r): the server recosts every job as an operation; timed from the request to the operation's end."""
    env = {"JOBCOST_RECOST_INLINE_MAX_JOBS": "0", "JOBCOST_RECOST_CHUNK_JOBS": str(chunk)}
    async with s.Server(url, env=env) as server, httpx.AsyncClient(
            base_url=server.base_url, timeout=httpx.Timeout(None)) as client:
        headers = await s.bearer(client, s.ADMIN)
        rss_start, cpu_start = server.rss_mib(), server.cpu_seconds()
        database_cpu = await s.backends_cpu_seconds(url)
        with server.sample_rss() as rss:
            started = time.perf_counter()
            response = await client.post(RECOST, headers=headers)
            if response.status_code != 202:
                raise SystemExit(f"(r): {response.status_code} {response.text[:500]}")
            location = response.headers["Location"]
            while True:
                await asyncio.sleep(0.25)
                operation = (await client.get(location, headers=headers)).json()
                if operation["state"] != "running":
                    break
            seconds = time.perf_counter() - started
        peak, cpu = rss.max_mib, server.cpu_seconds() - cpu_start
        database_cpu = await s.backends_cpu_seconds(url) - database_cpu
    if operation["state"] != "succeeded":
        raise SystemExit(f"(r): the operation failed: {operation}\n{server.log_tail()}")
    _, consistent = await ib.left_in(ib.Database(ib.POSTGRESQL, url))
    return Recost(seconds, operation["result"], rss_start, peak, cpu, database_cpu, consistent)


async def measure(pg_url: str, n: int, seed: int, chunk: int, profile: bool) -> tuple[ib.Measure, Recost]:
    print(f"  N = {n:,}")
    batches, context = await ib.precomputed(pg_url, n, seed)
    async with s.scratch_database(pg_url) as url:
        await s.row_context(url, like=context)
        await ib._checkpoint(url)  # noqa: SLF001
        async with s.RawWriter.connect(url, "auto") as writer:
            database_cpu = await s.backends_cpu_seconds(url)
            started = time.perf_counter()
            written = sum([await writer.write(batch) for batch in batches])
            seconds = time.perf_counter() - started
            database_cpu = await s.backends_cpu_seconds(url) - database_cpu
        del batches
        if written != n:
            raise SystemExit(f"(a): {written:,} jobs inserted, expected {n:,}")
        limit = ib.Measure(seconds, steps=writer.seconds, database_cpu_seconds=database_cpu)
        print(ib._line("(a) raw COPY + merge", n, limit, None))  # noqa: SLF001
        await s.create_users(url)
        pairs = await change_rates(url)
        in_scope = await _scalar(url, "SELECT count(*) FROM jobs WHERE cost_source <> 'billed'")
        await ib._checkpoint(url)  # noqa: SLF001
        print(f"    rate change: {pairs} (provider, GPU type) rates from {CHANGE_FROM:%Y-%m-%d}; "
              f"{in_scope:,} non-billed jobs in scope")
        recost = await served_recost(url, chunk)
        if profile:
            await profile_recost(url, chunk)
    report = recost.report
    rate = report["jobs_recosted"] / recost.seconds
    ratio = rate / (n / limit.seconds)
    print(f"  (r) recost, 1 operation   {report['jobs_recosted']:>10,} jobs in {recost.seconds:7.1f} s "
          f"{rate:>9,.0f} jobs/s  {ratio:5.3f}x (a)  CPU: server {recost.server_cpu_seconds:.1f} s "
          f"({recost.server_cpu_seconds / recost.seconds:.0%}), PostgreSQL {recost.database_cpu_seconds:.1f} s "
          f"({recost.database_cpu_seconds / recost.seconds:.0%})")
    print(f"      server RSS {recost.rss_start_mib:.0f} MiB at start, max {recost.peak_rss_mib:.0f} MiB; "
          f"report {report}; cost in snapshots = cost in rollups: {recost.consistent}")
    return limit, recost


async def profile_recost(url: str, chunk: int, top: int = 15) -> None:
    """cProfile of an in-process recost of every job of `url` after a second +10 % change."""
    from app.pricing.scopes import RecostScope
    from app.recost.service import Recoster

    engine = create_engine(s.bench_settings(url))
    by_statement: dict[str, float] = defaultdict(float)
    started_at: dict[int, float] = {}

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _before(_conn: Any, cursor: Any, *_: Any) -> None:
        started_at[id(cursor)] = time.perf_counter()

    @event.listens_for(engine.sync_engine, "after_cursor_execute")
    def _after(_conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        by_statement[_statement_name(statement)] += time.perf_counter() - started_at.pop(id(cursor), 0.0)

    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            await session.execute(GpuPrice.__table__.update().values(
                usd_per_gpu_hour_micros=GpuPrice.__table__.c.usd_per_gpu_hour_micros * 11 // 10))
        profile = cProfile.Profile()
        started = time.perf_counter()
        profile.enable()
        report = await Recoster(create_sessionmaker(engine), chunk_jobs=chunk).run([RecostScope(None, None)])
        profile.disable()
        seconds = time.perf_counter() - started
    finally:
        await engine.dispose()
    print(f"profile: in-process recost of {report.jobs_recosted:,} jobs")
    ingest_profile.print_profile(profile, "recost", seconds, top)
    print("  recost: time in SQL statements (the database, as the client waits for it; COPY not included):")
    for name, spent in sorted(by_statement.items(), key=lambda item: -item[1])[:top]:
        print(f"    {spent:6.2f} s {spent / seconds:6.1%}  {name}")


def _statement_name(sql: str) -> str:
    """A statement's kind and main table: `INSERT INTO daily_usage_costs`, `SELECT … FROM jobs`, …"""
    words = sql.split()
    verb = words[0].upper() if words else "?"
    for marker in ("INTO", "FROM", "UPDATE", "TABLE"):
        if marker in words[:8] or (marker == "UPDATE" and verb == "UPDATE"):
            index = words.index(marker) if marker in words else 0
            return f"{verb} {words[index + 1] if index + 1 < len(words) else ''}".strip()
    return " ".join(words[:3])


async def main(ns: list[int], seed: int, chunk: int, pg_url: str, profile: bool) -> None:
    print(f"recost on PostgreSQL, {', '.join(f'{n:,}' for n in ns)} synthetic jobs (seed {seed}), chunks of "
          f"{chunk:,} jobs")
    for line in await s.machine_facts(pg_url):
        print(line)
    print(f"load average at start: {s.load_average()}")
    results = {n: await measure(pg_url, n, seed, chunk, profile and n == ns[0]) for n in ns}
    print("targets (ratios from this run)")
    for n, (limit, recost) in results.items():
        ratio = recost.report["jobs_recosted"] / recost.seconds / (n / limit.seconds)
        print(f"  N = {n:>10,}: recost / (a) = {ratio:5.3f}x  (target >= {TARGET_RATIO}x at 1,000,000: "
              f"{'met' if ratio >= TARGET_RATIO else 'MISSED'})")
    if len(results) > 1:
        small, large = min(results), max(results)
        growth = results[large][1].peak_rss_mib / results[small][1].peak_rss_mib
        print(f"  server peak RSS at {large:,} / at {small:,} = {growth:4.2f}x  (target <= {TARGET_RSS_GROWTH}x: "
              f"{'met' if growth <= TARGET_RSS_GROWTH else 'MISSED'})")
    print(f"load average at end: {s.load_average()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", default="100000,300000", help="comma-separated job counts")
    parser.add_argument("--chunk", type=int, default=10_000, help="jobs per recost chunk (JOBCOST_RECOST_CHUNK_JOBS)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--pg-url", default=s.DEFAULT_PG_URL)
    parser.add_argument("--profile", action="store_true", help="also profile an in-process recost of the first N")
    args = parser.parse_args()
    s.exit_on_sigterm()
    try:
        asyncio.run(main([int(n) for n in args.jobs.split(",")], args.seed, args.chunk, args.pg_url, args.profile))
    except KeyboardInterrupt:
        raise SystemExit("interrupted: scratch databases dropped, servers stopped") from None
