"""Bulk ingest throughput on PostgreSQL: the database's limit against the real server over HTTP, NDJSON and JSON.

For each N of `--jobs`, the same seeded synthetic jobs (`synthetic.py`: 50 teams, 200 models, 8 GPU types, 5
providers, a year of start times, ~2 cost snapshots a job) are written four ways, each into a scratch database
of its own (created, migrated with the real migrations, dropped), after a CHECKPOINT:

  (a) the limit: raw asyncpg, no HTTP. The rows the service writes (jobs, cost snapshots, the three daily
      rollups) are computed in Python before the clock starts, with the service's own costing and hashing; the
      clock covers only the database work: per 10,000 jobs (the service's chunk), one transaction of COPY into
      temporary tables, `INSERT … ON CONFLICT DO NOTHING RETURNING`, one rollup upsert per grain, the snapshot
      insert (`synthetic.RawWriter`), on a connection with PostgreSQL's default `plan_cache_mode`;
  (a') the same rows on a connection with `plan_cache_mode=force_custom_plan`, as the app's connections have it;
  (b) the server (`jobcost serve`, a subprocess, one uvicorn process) over loopback HTTP with NDJSON: all N
      jobs in ONE streamed request (`Content-Type: application/x-ndjson`, chunked), the body encoded before
      the clock starts;
  (c) the same server with JSON batches of `--batch` (10,000) jobs, one request after the other.

Prints jobs/s, each as a ratio to (a); the time of each step of (a); the CPU time of the server process and of
the PostgreSQL backends during each; the server's peak RSS (VmHWM of the serving process) for (b) and (c); the
rows written (the same every way); the targets as ratios; the machine and PostgreSQL settings. `--profile` adds a
cProfile of the server-side ingest of 10,000 jobs (in-process ASGI, JSON and NDJSON).

    .venv/bin/python bench/ingest.py [--jobs 100000,1000000] [--batch 10000] [--seed 7] [--profile]
                                     [--pg-url postgresql+asyncpg://postgres@127.0.0.1:5432/test]

The machine is shared with other work: compare the ratios of one run, not absolute figures across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import linecache
import pstats
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import asyncpg
import httpx
import synthetic as s

INGEST = "/api/v1/admin/ingest/jobs"
TARGET_NDJSON_SHARE = 0.5  # (b) at least half of (a)
TARGET_RSS_GROWTH = 1.5  # server peak RSS at the largest N at most 1.5 × that at the smallest
_ROW_COUNTS = {
    "jobs": "SELECT count(*) FROM jobs",
    "snapshots": "SELECT count(*) FROM cost_snapshots",
    "team cells": "SELECT count(*) FROM daily_team_costs",
    "model cells": "SELECT count(*) FROM daily_model_costs",
    "usage cells": "SELECT count(*) FROM daily_usage_costs",
    "snapshot µUSD": "SELECT sum(cost_micros) FROM cost_snapshots",
    "rollup µUSD": "SELECT sum(cost_hi) * 1000000 + sum(cost_lo) FROM daily_usage_costs",
}


@dataclass(slots=True)
class Measure:
    """One timed write of N jobs: seconds, and for the HTTP ones the server's memory."""

    seconds: float
    rows: dict[str, int]
    steps: dict[str, float] | None = None
    rss_start_mib: float | None = None
    peak_rss_mib: float | None = None
    server_cpu_seconds: float | None = None
    database_cpu_seconds: float = 0.0


async def _checkpoint(url: str) -> None:
    """Flush what earlier measurements left dirty, so each starts from the same place."""
    connection = await asyncpg.connect(s.asyncpg_dsn(url))
    try:
        await connection.execute("CHECKPOINT")
    finally:
        await connection.close()


async def _rows(url: str) -> dict[str, int]:
    connection = await asyncpg.connect(s.asyncpg_dsn(url))
    try:
        return {name: int(await connection.fetchval(sql) or 0) for name, sql in _ROW_COUNTS.items()}
    finally:
        await connection.close()


async def raw_limit(pg_url: str, n: int, batches: list[s.Batch], context: s.RowContext,
                    plan_cache_mode: str) -> Measure:
    """(a): the rows computed beforehand (`batches`, for the teams of `context`); only the COPY-and-merge timed."""
    async with s.scratch_database(pg_url) as url:
        await s.row_context(url, like=context)
        await _checkpoint(url)
        async with s.RawWriter.connect(url, plan_cache_mode) as writer:
            database_cpu = await s.backends_cpu_seconds(url)
            started = time.perf_counter()
            written = 0
            for batch in batches:
                written += await writer.write(batch)
            seconds = time.perf_counter() - started
            database_cpu = await s.backends_cpu_seconds(url) - database_cpu
        if written != n:
            raise SystemExit(f"(a): {written:,} jobs inserted, expected {n:,}")
        return Measure(seconds, await _rows(url), writer.seconds, database_cpu_seconds=database_cpu)


async def precomputed(pg_url: str, n: int, seed: int) -> tuple[list[s.Batch], s.RowContext]:
    """The rows of the first `n` jobs as the service would write them, for the teams of a `RowContext`."""
    async with s.scratch_database(pg_url) as url:
        context = await s.row_context(url)
    started = time.perf_counter()
    batches = [s.prepared_block(block, count, seed, context) for block, count in s.blocks(n)]
    print(f"    rows for (a) computed in Python beforehand, not timed: {time.perf_counter() - started:.0f} s")
    return batches, context


async def _served(pg_url: str, send: Callable[[httpx.AsyncClient, dict[str, str]], AsyncIterator[dict]],
                  n: int, label: str) -> Measure:
    """Run `send` against a fresh server on a fresh database; time it, check every job was created."""
    async with s.scratch_database(pg_url) as url:
        await s.create_users(url)
        await _checkpoint(url)
        async with s.Server(url) as server, httpx.AsyncClient(
                base_url=server.base_url, timeout=httpx.Timeout(None)) as client:
            headers = await s.bearer(client, s.ADMIN)
            rss_start, cpu_start = server.rss_mib(), server.cpu_seconds()
            database_cpu = await s.backends_cpu_seconds(url)
            created = 0
            started = time.perf_counter()
            async for report in send(client, headers):
                created += report["created"]
                if report["failed"] or report["updated"] or report["unchanged"]:
                    raise SystemExit(f"{label}: unexpected report {str(report)[:300]}")
            seconds = time.perf_counter() - started
            peak, cpu = server.peak_rss_mib(), server.cpu_seconds() - cpu_start
            database_cpu = await s.backends_cpu_seconds(url) - database_cpu
        if created != n:
            raise SystemExit(f"{label}: {created:,} jobs created, expected {n:,}")
        return Measure(seconds, await _rows(url), rss_start_mib=rss_start, peak_rss_mib=peak,
                       server_cpu_seconds=cpu, database_cpu_seconds=database_cpu)


async def _answer(response: httpx.Response, label: str) -> dict:
    if response.status_code != 200:
        raise SystemExit(f"{label}: {response.status_code} {response.text[:500]}")
    return response.json()


async def ndjson_stream(pg_url: str, n: int, seed: int) -> Measure:
    """(b): one request streaming every job as NDJSON (blocks of 1,000 lines, encoded beforehand)."""
    blocks = s.ndjson_blocks(s.job_records(n, seed))

    async def send(client: httpx.AsyncClient, headers: dict[str, str]) -> AsyncIterator[dict]:
        async def body() -> AsyncIterator[bytes]:
            for block in blocks:
                yield block
        response = await client.post(INGEST, content=body(),
                                     headers={**headers, "Content-Type": "application/x-ndjson"})
        yield await _answer(response, "(b) NDJSON")

    return await _served(pg_url, send, n, "(b) NDJSON")


async def json_batches(pg_url: str, n: int, seed: int, size: int) -> Measure:
    """(c): JSON bodies of `size` jobs (encoded beforehand), one request after the other."""
    bodies = s.json_batches(s.job_records(n, seed), size)

    async def send(client: httpx.AsyncClient, headers: dict[str, str]) -> AsyncIterator[dict]:
        for body in bodies:
            response = await client.post(INGEST, content=body,
                                         headers={**headers, "Content-Type": "application/json"})
            yield await _answer(response, "(c) JSON")

    return await _served(pg_url, send, n, "(c) JSON")


def _line(label: str, n: int, m: Measure, limit: Measure | None) -> str:
    rate = n / m.seconds
    text = f"  {label:24s} {n:>10,} jobs in {m.seconds:7.1f} s {rate:>9,.0f} jobs/s"
    text += f"  {limit.seconds / m.seconds:6.1%} of (a)" if limit is not None else " " * 15
    cpu = [f"PostgreSQL {m.database_cpu_seconds:.1f} s ({m.database_cpu_seconds / m.seconds:.0%})"]
    if m.server_cpu_seconds is not None:
        cpu.insert(0, f"server {m.server_cpu_seconds:.1f} s ({m.server_cpu_seconds / m.seconds:.0%})")
    text += "  CPU: " + ", ".join(cpu)
    if m.peak_rss_mib is not None:
        text += f"\n  {'':24s} server RSS {m.rss_start_mib:.0f} MiB at start, peak {m.peak_rss_mib:.0f} MiB"
    return text


async def measure(pg_url: str, n: int, seed: int, size: int) -> dict[str, Measure]:
    print(f"  N = {n:,}")
    batches, context = await precomputed(pg_url, n, seed)
    results = {"a": await raw_limit(pg_url, n, batches, context, "auto")}
    print(_line("(a) raw COPY + merge", n, results["a"], None))
    _print_steps("(a)", results["a"])
    results["a'"] = await raw_limit(pg_url, n, batches, context, "force_custom_plan")
    del batches
    print(_line("(a') (a), custom plans", n, results["a'"], results["a"]))
    _print_steps("(a')", results["a'"])
    results["b"] = await ndjson_stream(pg_url, n, seed)
    print(_line("(b) HTTP NDJSON, 1 req", n, results["b"], results["a"]))
    results["c"] = await json_batches(pg_url, n, seed, size)
    print(_line(f"(c) HTTP JSON, {size:,}/req", n, results["c"], results["a"]))
    rows = results["a"].rows
    same = all(m.rows == rows for m in results.values())
    print("    rows written: " + ", ".join(f"{name} {value:,}" for name, value in rows.items() if "µUSD" not in name)
          + f"; cost in snapshots = cost in rollups: {rows['snapshot µUSD'] == rows['rollup µUSD']}; "
            f"the same in (a), (a'), (b), (c): {same}")
    return results


def _print_steps(label: str, m: Measure) -> None:
    print(f"    {label} time by step: " + ", ".join(f"{name} {seconds / m.seconds:.0%}"
                                              for name, seconds in (m.steps or {}).items()))


def targets(results: dict[int, dict[str, Measure]]) -> None:
    print("targets (ratios from this run)")
    for n, r in results.items():
        share, custom_plans = r["a"].seconds / r["b"].seconds, r["a'"]
        print(f"  N = {n:>10,}: (b) NDJSON / (a) = {share:6.1%}  (target >= {TARGET_NDJSON_SHARE:.0%}: "
              f"{'met' if share >= TARGET_NDJSON_SHARE else 'MISSED'});  (c) JSON / (a) = "
              f"{r['a'].seconds / r['c'].seconds:6.1%};  (b) / (a') = {custom_plans.seconds / r['b'].seconds:6.1%}")
    if len(results) > 1:
        small, large = min(results), max(results)
        for key, name in (("b", "(b) NDJSON"), ("c", "(c) JSON")):
            growth = results[large][key].peak_rss_mib / results[small][key].peak_rss_mib
            print(f"  {name:11s} server peak RSS at {large:,} / at {small:,} = {growth:4.2f}x  (target <= "
                  f"{TARGET_RSS_GROWTH}x: {'met' if growth <= TARGET_RSS_GROWTH else 'MISSED'})")


# --- where the server's Python time goes ---------------------------------------------------------------------

def _area(filename: str, name: str = "") -> str:
    """A profile entry's module, shortened: `app/ingestion/costing.py`, `fractions.py`, `asyncpg`, …"""
    if filename == "~":
        return "(waiting: epoll, database and network)" if "poll" in name else "(built-in functions)"
    for marker in ("/backend/app/", "/site-packages/"):
        if marker in filename:
            rest = filename.split(marker, 1)[1]
            return ("app/" + rest) if marker == "/backend/app/" else rest.split("/", 1)[0]
    return filename.rsplit("/", 1)[-1] if filename.startswith("/") else filename


def _is_async(filename: str, line: int) -> bool:
    """Whether the function defined at `filename:line` is a coroutine (cProfile counts each resumption of one as a
    call, so its cumulative time is not meaningful). A decorated function's line is its first decorator's."""
    for number in range(line, line + 50):
        text = linecache.getline(filename, number).lstrip()
        if text.startswith(("def ", "async def ")):
            return text.startswith("async def ")
    return False


def _print_profile(profile: cProfile.Profile, label: str, seconds: float, top: int) -> None:
    stats = pstats.Stats(profile)
    total = sum(entry[2] for entry in stats.stats.values())  # type: ignore[attr-defined]
    by_area: dict[str, float] = defaultdict(float)
    for (filename, _, name), entry in stats.stats.items():  # type: ignore[attr-defined]
        by_area[_area(filename, name)] += entry[2]
    print(f"  {label}: {seconds:.2f} s under the profiler; own time by module (top {top}):")
    for area, own in sorted(by_area.items(), key=lambda item: -item[1])[:top]:
        print(f"    {own:6.2f} s {own / total:6.1%}  {area}")
    entries = stats.stats.items()  # type: ignore[attr-defined]
    print(f"  {label}: functions by own time (top {top}):")
    for (filename, line, name), (_, calls, own, cumulative, _) in sorted(entries, key=lambda e: -e[1][2])[:top]:
        print(f"    {own:6.2f} s own {cumulative:6.2f} s cum {calls:>9,} calls  {_area(filename, name)}:{line} {name}")
    print(f"  {label}: jobcost's plain (not async) functions by cumulative time (top {top}):")
    ours = [e for e in entries if "/backend/app/" in e[0][0] and not _is_async(e[0][0], e[0][1])]
    for (filename, line, name), (_, calls, own, cumulative, _) in sorted(ours, key=lambda e: -e[1][3])[:top]:
        print(f"    {cumulative:6.2f} s cum {own:6.2f} s own {calls:>9,} calls  {_area(filename)}:{line} {name}")


async def profile_server(pg_url: str, seed: int, n: int = 10_000, top: int = 15) -> None:
    """cProfile of the app answering one JSON batch of `n` jobs, then the next `n` as one NDJSON body, in-process
    (httpx ASGITransport: the same app and database, no sockets), each into an empty scratch database."""
    from app.main import create_app

    print(f"profile: the server-side ingest of {n:,} jobs (in-process ASGI, cProfile)")
    for label, content_type, body in (
            ("JSON batch", "application/json", s.json_batches(s.job_records(n, seed), n)[0]),
            ("NDJSON body", "application/x-ndjson", b"".join(s.ndjson_blocks(s.job_records(n, seed))))):
        async with s.scratch_database(pg_url) as url:
            await s.create_users(url)
            app = create_app(s.bench_settings(url))
            async with app.router.lifespan_context(app), httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=600) as client:
                headers = {**await s.bearer(client, s.ADMIN), "Content-Type": content_type}
                profile = cProfile.Profile()
                started = time.perf_counter()
                profile.enable()
                response = await client.post(INGEST, content=body, headers=headers)
                profile.disable()
                seconds = time.perf_counter() - started
                report = await _answer(response, f"profile {label}")
                if report["created"] != n:
                    raise SystemExit(f"profile {label}: {report['created']} created")
        _print_profile(profile, label, seconds, top)


async def main(ns: list[int], seed: int, size: int, pg_url: str, profile: bool) -> None:
    print(f"bulk ingest on PostgreSQL, {', '.join(f'{n:,}' for n in ns)} synthetic jobs (seed {seed}); "
          "each measurement in its own scratch database, after a CHECKPOINT")
    for line in await s.machine_facts(pg_url):
        print(line)
    print(f"load average at start: {s.load_average()}")
    results = {n: await measure(pg_url, n, seed, size) for n in ns}
    targets(results)
    print(f"load average at end: {s.load_average()}")
    if profile:
        await profile_server(pg_url, seed)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", default="100000,1000000", help="comma-separated job counts")
    parser.add_argument("--batch", type=int, default=10_000, help="jobs per JSON request in (c)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--pg-url", default=s.DEFAULT_PG_URL)
    parser.add_argument("--profile", action="store_true", help="also profile the server-side ingest of 10,000 jobs")
    args = parser.parse_args()
    s.exit_on_sigterm()
    try:
        asyncio.run(main([int(n) for n in args.jobs.split(",")], args.seed, args.batch, args.pg_url, args.profile))
    except KeyboardInterrupt:
        raise SystemExit("interrupted: scratch databases dropped, servers stopped") from None
