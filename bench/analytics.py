"""Analytics query latency over HTTP, from the rollups, against the same sums in raw SQL over the snapshots.

For each N of `--jobs` (default 1,000,000; try `--jobs 1000000,10000000`), a scratch PostgreSQL database (real
migrations) is loaded with N synthetic jobs (`synthetic.py`) and the rows the service writes for them: jobs, cost
snapshots and every rollup grain (`synthetic.bulk_load`: the service's own costing in worker processes, COPY
straight into the tables, the rollups summed once, indexes rebuilt, VACUUM ANALYZE; the loading time is printed).
The real server (`jobcost serve`, a subprocess) then answers `GET /api/v1/analytics/cost` over loopback HTTP,
`--rounds` (50) requests each, after one warm-up, for:

  team, step=day, the year 2025            model, 30 days (10 June - 9 July 2025)
  team x model, the month of June 2025     status, the year 2025
  gpu_type x provider, step=month, the year 2025

each as an admin and as a member of 3 of the 50 teams. The same sums are run as raw SQL over the snapshots
(`SELECT period, keys, sum(cost_micros), sum(gpu_us), count(DISTINCT job_pk) FROM cost_snapshots JOIN jobs …
WHERE day BETWEEN … GROUP BY period, keys`) through asyncpg, as many times (or for about `RAW_BUDGET_S` when each
takes seconds). Prints p50 and p95 of each and, as ratios from the same run, the targets: HTTP p95 <= 50 ms at
the largest N, raw SQL p50 / HTTP p50 >= 10x, and with two Ns HTTP p95 at the largest / at the smallest <= 1.3;
checks every HTTP row (cost and distinct jobs per period and group) against the raw SQL; prints the top line and
scans of the plan of each rollup query the service sends.

    .venv/bin/python bench/analytics.py [--jobs 1000000] [--rounds 50] [--seed 7] [--workers 2]
                                        [--pg-url postgresql+asyncpg://postgres@127.0.0.1:5432/test] [--keep]

`--keep` keeps each loaded database and reuses it on the next run with `--keep` (a 10M load takes half an hour;
drop them with `DROP DATABASE jobcost_bench_analytics_…`).

The machine is shared with other work: compare the ratios of one run, not absolute figures across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import synthetic as s
from sqlalchemy import event

from app.analytics.query_schemas import CostQuery
from app.analytics.service import CostAnalyticsService
from app.db.engine import create_engine, create_sessionmaker
from app.teams.scope import TeamScope

YEAR = (date(2025, 1, 1), date(2025, 12, 31))
DAYS_30 = (date(2025, 6, 10), date(2025, 7, 9))
JUNE = (date(2025, 6, 1), date(2025, 6, 30))
MEMBER_TEAMS = ("team-00", "team-01", "team-02")
TARGET_P95_MS = 50.0  # HTTP p95 at the largest N
TARGET_RAW_OVER_HTTP = 10.0  # raw SQL p50 at least 10 × the HTTP p50
TARGET_P95_GROWTH = 1.3  # HTTP p95 at the largest N at most 1.3 × that at the smallest
RAW_BUDGET_S = 20.0  # raw SQL: at most about this long of calls per query (a year at 10M jobs takes seconds each)
MIN_SAMPLES = 3
# The query's dimensions as the jobs' columns, and its steps as SQL over the snapshot's day.
RAW_KEYS = {"team": "j.team_id", "model": "j.model_name", "status": "j.status", "gpu_type": "j.gpu_type",
            "provider": "j.provider"}
RAW_PERIODS = {None: "NULL::date", "day": "s.day", "month": "date_trunc('month', s.day)::date"}


@dataclass(frozen=True, slots=True)
class Query:
    """One analytics query: its parameters, its window, who asks (a member or the admin)."""

    name: str
    group_by: tuple[str, ...]
    step: str | None
    window: tuple[date, date]
    member: bool

    def params(self) -> dict[str, str]:
        found = {"start": self.window[0].isoformat(), "end": self.window[1].isoformat(),
                 "group_by": ",".join(self.group_by)}
        return found | ({"step": self.step} if self.step else {})

    def raw_sql(self) -> str:
        keys = ", ".join(RAW_KEYS[name] for name in self.group_by)
        teams = " AND j.team_id = ANY($3::uuid[])" if self.member else ""
        return (f"SELECT {RAW_PERIODS[self.step]} AS period, {keys}, sum(s.cost_micros), sum(s.gpu_us), "  # noqa: S608
                f"count(DISTINCT s.job_pk) FROM cost_snapshots s JOIN jobs j ON j.id = s.job_pk "
                f"WHERE s.day BETWEEN $1 AND $2{teams} GROUP BY 1, {keys}")


def _queries() -> tuple[Query, ...]:
    shapes = (("team, step=day, 1 year", ("team",), "day", YEAR),
              ("model, 30 days", ("model",), None, DAYS_30),
              ("team x model, 1 month", ("team", "model"), None, JUNE),
              ("status, 1 year", ("status",), None, YEAR),
              ("gpu x provider, step=month, 1 y", ("gpu_type", "provider"), "month", YEAR))
    return tuple(Query(f"{name}, {'member' if member else 'admin'}", group_by, step, window, member)
                 for name, group_by, step, window in shapes for member in (False, True))


QUERIES = _queries()


@dataclass(slots=True)
class Timing:
    p50: float
    p95: float
    samples: int


async def timed(rounds: int, call: Callable[[], Awaitable[Any]], budget_s: float | None = None) -> Timing:
    """p50 and p95 (nearest rank) in milliseconds of `rounds` calls, after one warm-up call; with `budget_s`, the
    calls stop once that many seconds have passed (after at least `MIN_SAMPLES`)."""
    await call()
    samples: list[float] = []
    deadline = time.perf_counter() + budget_s if budget_s is not None else None
    while len(samples) < rounds and (deadline is None or len(samples) < MIN_SAMPLES
                                     or time.perf_counter() < deadline):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return Timing(statistics.median(samples), s.percentile(samples, 0.95), len(samples))


async def _team_ids(connection: asyncpg.Connection) -> list[uuid.UUID]:
    rows = await connection.fetch("SELECT id FROM teams WHERE name = ANY($1::text[]) ORDER BY name",
                                  list(MEMBER_TEAMS))
    return [row["id"] for row in rows]


async def service_statements(url: str, member_teams: list[uuid.UUID]) -> dict[str, list[tuple[str, tuple]]]:
    """The rollup statements (SQL and parameters) the service sends for each query, caught on the way to the
    driver while `CostAnalyticsService` answers in-process."""
    engine = create_engine(s.bench_settings(url))
    caught: list[tuple[str, tuple]] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def catch(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if "daily_" in statement or "monthly_" in statement:
            caught.append((statement, tuple(parameters)))

    statements = {}
    try:
        async with create_sessionmaker(engine)() as session:
            for query in QUERIES:
                scope = TeamScope(frozenset(member_teams) if query.member else None)
                caught.clear()
                await CostAnalyticsService(session, scope).query(CostQuery.model_validate(query.params()))
                statements[query.name] = list(caught)
    finally:
        await engine.dispose()
    return statements


async def print_plans(connection: asyncpg.Connection, statements: dict[str, list[tuple[str, tuple]]]) -> None:
    print("    plans of the service's rollup queries (EXPLAIN ANALYZE: top line, then each scan)")
    for name, caught in statements.items():
        for sql, parameters in caught:
            plan = [row[0] for row in await connection.fetch(f"EXPLAIN ANALYZE {sql}", *parameters)]
            scans = [line.strip().removeprefix("->  ") for line in plan[1:] if "Scan" in line]
            print(f"      {name:40s} {plan[0]}")
            for scan in scans:
                print(f"      {'':40s} {scan}")


def _usd(micros: int) -> Decimal:
    return Decimal(micros).scaleb(-6)


async def measure(pg_url: str, n: int, seed: int, rounds: int, workers: int, keep: bool) -> dict[str, Timing]:
    """Load `n` jobs (or, with `keep`, reuse the database a previous `--keep` run loaded) and time the queries."""
    if keep:
        async with s.kept_database(pg_url, f"jobcost_bench_analytics_{n}_s{seed}", n, seed, workers,
                                    MEMBER_TEAMS) as url:
            return await _measure_loaded(url, rounds)
    async with s.scratch_database(pg_url) as url:
        started = time.perf_counter()
        steps = await s.bulk_load(url, n, seed, workers)
        print(f"  N = {n:,}: loaded in {time.perf_counter() - started:.0f} s ("
              + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in steps.items()) + ")")
        await s.create_users(url, MEMBER_TEAMS)
        return await _measure_loaded(url, rounds)


async def _measure_loaded(url: str, rounds: int) -> dict[str, Timing]:
    connection = await asyncpg.connect(s.asyncpg_dsn(url), server_settings={
        "timezone": "UTC", "plan_cache_mode": "force_custom_plan"})
    try:
        counts = {t: await connection.fetchval(f"SELECT count(*) FROM {t}") for t in  # noqa: S608
                  ("jobs", "cost_snapshots", *(table for table, _, _ in s.ROLLUP_GRAINS))}
        print("    rows: " + ", ".join(f"{t} {c:,}" for t, c in counts.items()))
        team_ids = await _team_ids(connection)
        statements = await service_statements(url, team_ids)
        http = await _http_timings(url, rounds, connection, team_ids)
        await print_plans(connection, statements)
    finally:
        await connection.close()
    return http


async def _http_timings(url: str, rounds: int, connection: asyncpg.Connection,
                        team_ids: list[uuid.UUID]) -> dict[str, Timing]:
    results = {}
    async with s.Server(url) as server, httpx.AsyncClient(base_url=server.base_url, timeout=120) as client:
        headers = {False: await s.bearer(client, s.ADMIN), True: await s.bearer(client, s.MEMBER)}
        for query in QUERIES:
            answers: list[bytes] = []

            async def get(query: Query = query, answers: list = answers) -> None:
                response = await client.get("/api/v1/analytics/cost", params=query.params(),
                                            headers=headers[query.member])
                if response.status_code != 200:
                    raise SystemExit(f"{query.name}: {response.status_code} {response.text[:300]}")
                answers[:] = [response.content]  # decoded after the timing: the client's parsing is not the server's

            arguments = (*query.window, team_ids) if query.member else query.window
            raw_rows: list[Any] = []

            async def raw(query: Query = query, arguments: tuple = arguments, raw_rows: list = raw_rows) -> None:
                raw_rows[:] = await connection.fetch(query.raw_sql(), *arguments)

            web = await timed(rounds, get)
            sql = await timed(rounds, raw, RAW_BUDGET_S)
            results[query.name] = web
            ratio = sql.p50 / web.p50
            agree = _agree(query, json.loads(answers[-1]), raw_rows)
            print(f"    {query.name:40s} HTTP p50 {web.p50:6.1f} ms  p95 {web.p95:6.1f} ms  ({len(raw_rows):,} rows)   "
                  f"raw SQL p50 {sql.p50:8.1f} ms   raw/HTTP {ratio:7.1f}x "
                  f"{'met' if ratio >= TARGET_RAW_OVER_HTTP else 'MISSED'}"
                  f"{_of(sql, rounds)}{'' if agree else '   HTTP ROWS DIFFER FROM RAW SQL'}")
        print(f"    server peak RSS {server.peak_rss_mib():.0f} MiB")
    return results


def _of(timing: Timing, rounds: int) -> str:
    return "" if timing.samples == rounds else f"  (raw SQL: {timing.samples} runs, {RAW_BUDGET_S:.0f} s budget)"


def _agree(query: Query, answer: dict, raw_rows: list[Any]) -> bool:
    """Every HTTP row (cost and distinct jobs of a period and group) equals the raw sums over the snapshots."""
    def key_of(values: list[Any]) -> tuple[Any, ...]:
        return tuple(None if v is None else str(v) for v in values)

    web = {}
    for row in answer["rows"]:
        group = [row["group"]["team_id" if name == "team" else name] for name in query.group_by]
        web[key_of([row["period_start"] if query.step else None, *group])] = (
            Decimal(row["cost"]), row["job_count"])
    raw = {key_of([row[0], *row[1:1 + len(query.group_by)]]): (_usd(row[-3] or 0), row[-1]) for row in raw_rows}
    return web == raw


async def main(ns: list[int], seed: int, rounds: int, workers: int, pg_url: str, keep: bool) -> None:
    print(f"cost report latency on PostgreSQL, {', '.join(f'{n:,}' for n in ns)} synthetic jobs (seed {seed}), "
          f"{rounds} requests each after a warm-up, one at a time, real server over loopback HTTP")
    for line in await s.machine_facts(pg_url):
        print(line)
    print(f"load average at start: {s.load_average()}")
    results = {n: await measure(pg_url, n, seed, rounds, workers, keep) for n in ns}
    large = max(results)
    print(f"HTTP p95 at {large:,} (target <= {TARGET_P95_MS:.0f} ms)")
    for name, timing in results[large].items():
        print(f"  {name:40s} {timing.p95:6.1f} ms  {'met' if timing.p95 <= TARGET_P95_MS else 'MISSED'}")
    if len(results) > 1:
        small = min(results)
        print(f"HTTP p95 at {large:,} / at {small:,} (target <= {TARGET_P95_GROWTH}x)")
        for name, timing in results[large].items():
            growth = timing.p95 / results[small][name].p95
            print(f"  {name:40s} {growth:5.2f}x  {'met' if growth <= TARGET_P95_GROWTH else 'MISSED'}")
    print(f"load average at end: {s.load_average()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", default="1000000", help="comma-separated job counts, e.g. 1000000,10000000")
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="processes computing rows")
    parser.add_argument("--pg-url", default=s.DEFAULT_PG_URL)
    parser.add_argument("--keep", action="store_true",
                        help="keep each N's loaded database (jobcost_bench_analytics_N_sSEED) and reuse it next time")
    args = parser.parse_args()
    s.exit_on_sigterm()
    try:
        asyncio.run(main([int(n) for n in args.jobs.split(",")], args.seed, args.rounds, args.workers, args.pg_url,
                         args.keep))
    except KeyboardInterrupt:
        raise SystemExit("interrupted: scratch databases dropped, servers stopped") from None
