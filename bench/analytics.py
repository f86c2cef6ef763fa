"""Cost report latency over HTTP, from the daily rollups, against the same sums in raw SQL over the snapshots.

For each N of `--jobs` (default 1,000,000; try `--jobs 1000000,10000000`), a scratch PostgreSQL database (real
migrations) is loaded with N synthetic jobs (`synthetic.py`) and the rows the service writes for them: jobs, cost
snapshots and the three daily rollups (`synthetic.bulk_load`: the service's own costing in worker processes, COPY
straight into the tables, the rollups summed once, indexes rebuilt, VACUUM ANALYZE; the loading time is printed).
The real server (`jobcost serve`, a subprocess) then answers, over loopback HTTP, `--rounds` (50) requests each,
after one warm-up, of:

  by-team  as an admin                   (reads daily_team_costs:  day × team)
  by-model as an admin                   (reads daily_model_costs: day × model)
  by-model as a member of 3 teams        (reads daily_usage_costs: day × team × model × GPU type × provider)

for a 30-day window (June 2025) and a one-year window (2025). The same sums are run as raw SQL over the snapshots
(`SELECT key, sum(cost_micros), sum(gpu_us), count(DISTINCT job_pk) FROM cost_snapshots JOIN jobs … WHERE day
BETWEEN … GROUP BY key`) through asyncpg, as many times (or for about a minute when each takes seconds). Prints
p50 and p95 of each, the ratio raw SQL p50 / HTTP p50 (target >= 5x for the year), and with two Ns the ratio of
their HTTP p95s (target <= 1.2); checks that the HTTP totals equal the raw sums; prints the top line and scans
of the plan of each rollup query the service sends.

    .venv/bin/python bench/analytics.py [--jobs 1000000] [--rounds 50] [--seed 7] [--workers 2]
                                        [--pg-url postgresql+asyncpg://postgres@127.0.0.1:5432/test]

The machine is shared with other work: compare the ratios of one run, not absolute figures across runs.
"""

from __future__ import annotations

import argparse
import asyncio
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

from app.analytics.schemas import CostWindowQuery
from app.analytics.service import CostAnalyticsService
from app.db.engine import create_engine, create_sessionmaker
from app.teams.scope import TeamScope

WINDOWS = {"30 days": (date(2025, 6, 1), date(2025, 6, 30)), "1 year": (date(2025, 1, 1), date(2025, 12, 31))}
MEMBER_TEAMS = ("team-00", "team-01", "team-02")
TARGET_RAW_OVER_HTTP = 5.0  # year window: raw SQL p50 at least 5 × the HTTP p50
TARGET_P95_GROWTH = 1.2  # HTTP p95 at the largest N at most 1.2 × that at the smallest
RAW_BUDGET_S = 60.0  # raw SQL: at most about a minute of calls per query (a year at 10M jobs takes seconds each)
MIN_SAMPLES = 5
RAW_SQL = """
    SELECT j.{key}, sum(s.cost_micros), sum(s.gpu_us), count(DISTINCT s.job_pk)
    FROM cost_snapshots s JOIN jobs j ON j.id = s.job_pk
    WHERE s.day BETWEEN $1 AND $2{teams} GROUP BY j.{key}"""


@dataclass(frozen=True, slots=True)
class Query:
    """One report: its endpoint, who asks (a member or the admin), and the raw SQL grouping of the same sums."""

    name: str
    path: str
    member: bool
    key: str

    def raw_sql(self) -> str:
        return RAW_SQL.format(key=self.key, teams=" AND j.team_id = ANY($3::uuid[])" if self.member else "")


QUERIES = (Query("by-team, admin", "/api/v1/analytics/cost/by-team", False, "team_id"),
           Query("by-model, admin", "/api/v1/analytics/cost/by-model", False, "model_name"),
           Query("by-model, member of 3 teams", "/api/v1/analytics/cost/by-model", True, "model_name"))


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


async def service_statements(url: str, member_teams: list[uuid.UUID]) -> dict[tuple[str, str], tuple[str, tuple]]:
    """The rollup statement (SQL and parameters) the service sends for each (query, window), caught on the way
    to the driver while `CostAnalyticsService` answers in-process."""
    engine = create_engine(s.bench_settings(url))
    caught: list[tuple[str, tuple]] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def catch(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if "daily_" in statement:
            caught.append((statement, tuple(parameters)))

    statements = {}
    try:
        async with create_sessionmaker(engine)() as session:
            for query in QUERIES:
                scope = TeamScope(frozenset(member_teams) if query.member else None)
                service = CostAnalyticsService(session, scope)
                for window, (start, end) in WINDOWS.items():
                    caught.clear()
                    report = service.by_team if query.key == "team_id" else service.by_model
                    await report(CostWindowQuery(start=start, end=end))
                    statements[(query.name, window)] = caught[0]
    finally:
        await engine.dispose()
    return statements


async def print_plans(connection: asyncpg.Connection, statements: dict[tuple[str, str], tuple[str, tuple]]) -> None:
    print("    plans of the service's rollup queries (EXPLAIN ANALYZE: top line, then each scan)")
    for (name, window), (sql, parameters) in statements.items():
        plan = [row[0] for row in await connection.fetch(f"EXPLAIN ANALYZE {sql}", *parameters)]
        scans = [line.strip().removeprefix("->  ") for line in plan[1:] if "Scan" in line]
        print(f"      {name:28s} {window:7s} {plan[0]}")
        for scan in scans:
            print(f"      {'':36s} {scan}")


def _usd(micros: int) -> Decimal:
    return Decimal(micros).scaleb(-6)


async def measure(pg_url: str, n: int, seed: int, rounds: int, workers: int) -> dict[tuple[str, str], Timing]:
    async with s.scratch_database(pg_url) as url:
        started = time.perf_counter()
        steps = await s.bulk_load(url, n, seed, workers)
        print(f"  N = {n:,}: loaded in {time.perf_counter() - started:.0f} s ("
              + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in steps.items()) + ")")
        connection = await asyncpg.connect(s.asyncpg_dsn(url), server_settings={
            "timezone": "UTC", "plan_cache_mode": "force_custom_plan"})
        try:
            counts = {t: await connection.fetchval(f"SELECT count(*) FROM {t}") for t in  # noqa: S608
                      ("jobs", "cost_snapshots", "daily_team_costs", "daily_model_costs", "daily_usage_costs")}
            print("    rows: " + ", ".join(f"{t} {c:,}" for t, c in counts.items()))
            team_ids = await _team_ids(connection)
            await s.create_users(url, MEMBER_TEAMS)
            statements = await service_statements(url, team_ids)
            http = await _http_timings(url, rounds, connection, team_ids)
            await print_plans(connection, statements)
        finally:
            await connection.close()
    return http


async def _http_timings(url: str, rounds: int, connection: asyncpg.Connection,
                        team_ids: list[uuid.UUID]) -> dict[tuple[str, str], Timing]:
    results = {}
    async with s.Server(url) as server, httpx.AsyncClient(base_url=server.base_url, timeout=120) as client:
        headers = {False: await s.bearer(client, s.ADMIN), True: await s.bearer(client, s.MEMBER)}
        for window, (start, end) in WINDOWS.items():
            for query in QUERIES:
                params = {"start": start.isoformat(), "end": end.isoformat()}
                answers: list[dict] = []

                async def get(query: Query = query, params: dict = params, answers: list = answers) -> None:
                    response = await client.get(query.path, params=params, headers=headers[query.member])
                    if response.status_code != 200:
                        raise SystemExit(f"{query.path}: {response.status_code} {response.text[:300]}")
                    answers.append(response.json())

                arguments = (start, end, team_ids) if query.member else (start, end)
                raw_rows: list[Any] = []

                async def raw(query: Query = query, arguments: tuple = arguments, raw_rows: list = raw_rows) -> None:
                    raw_rows[:] = await connection.fetch(query.raw_sql(), *arguments)

                web = await timed(rounds, get)
                sql = await timed(rounds, raw, RAW_BUDGET_S)
                results[(query.name, window)] = web
                agree = _agree(answers[-1], raw_rows)
                print(f"    {query.name:28s} {window:7s} HTTP p50 {web.p50:7.1f} ms  p95 {web.p95:7.1f} ms   "
                      f"raw SQL p50 {sql.p50:8.1f} ms  p95 {sql.p95:8.1f} ms   raw/HTTP {sql.p50 / web.p50:6.1f}x"
                      f"{_of(sql, rounds)}{'' if agree else '   HTTP TOTALS DIFFER FROM RAW SQL'}")
                if window == "1 year":
                    ratio = sql.p50 / web.p50
                    print(f"    {'':36s} target raw/HTTP >= {TARGET_RAW_OVER_HTTP:.0f}x for the year: "
                          f"{'met' if ratio >= TARGET_RAW_OVER_HTTP else 'MISSED'}")
        print(f"    server peak RSS {server.peak_rss_mib():.0f} MiB")
    return results


def _of(timing: Timing, rounds: int) -> str:
    return "" if timing.samples == rounds else f"  (raw SQL: {timing.samples} runs, {RAW_BUDGET_S:.0f} s budget)"


def _agree(answer: dict, raw_rows: list[Any]) -> bool:
    """The HTTP report's totals (cost, jobs, groups) equal the raw sums over the snapshots."""
    cost = sum((row[1] or 0) for row in raw_rows)
    jobs = sum(row[3] for row in raw_rows)
    return (Decimal(str(answer["total_cost"])) == _usd(cost) and answer["job_count"] == jobs
            and len(answer["items"]) == len(raw_rows))


async def main(ns: list[int], seed: int, rounds: int, workers: int, pg_url: str) -> None:
    print(f"cost report latency on PostgreSQL, {', '.join(f'{n:,}' for n in ns)} synthetic jobs (seed {seed}), "
          f"{rounds} requests each after a warm-up, one at a time, real server over loopback HTTP")
    for line in await s.machine_facts(pg_url):
        print(line)
    print(f"load average at start: {s.load_average()}")
    results = {n: await measure(pg_url, n, seed, rounds, workers) for n in ns}
    if len(results) > 1:
        small, large = min(results), max(results)
        print(f"HTTP p95 at {large:,} / at {small:,} (target <= {TARGET_P95_GROWTH}x)")
        for key, timing in results[large].items():
            growth = timing.p95 / results[small][key].p95
            print(f"  {key[0]:28s} {key[1]:7s} {growth:5.2f}x  "
                  f"{'met' if growth <= TARGET_P95_GROWTH else 'MISSED'}")
    print(f"load average at end: {s.load_average()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", default="1000000", help="comma-separated job counts, e.g. 1000000,10000000")
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="processes computing rows")
    parser.add_argument("--pg-url", default=s.DEFAULT_PG_URL)
    args = parser.parse_args()
    s.exit_on_sigterm()
    try:
        asyncio.run(main([int(n) for n in args.jobs.split(",")], args.seed, args.rounds, args.workers, args.pg_url))
    except KeyboardInterrupt:
        raise SystemExit("interrupted: scratch databases dropped, servers stopped") from None
