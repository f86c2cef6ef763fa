"""Latency of `GET /api/v1/jobs?sort=…`, each order against the default one, on a synthetic PostgreSQL database.

A scratch database (real migrations) is loaded with `--jobs` synthetic jobs (`synthetic.bulk_load`), one
`jobcost serve` worker answers on loopback, signed in as an admin. For every `sort` (`-started_at`, the default
and the order with its own index, then `started_at`, `±cost`, `±gpu_hours`), one request at a time, the median of
`--rounds` requests of:

  first page     `?limit=50&include_total=false&sort=S`
  cursor page D  the same, `cursor=` the page D-1 cursor (found by following D-1 pages)

and each median's ratio to the default order's. Whether an order needs an index of its own is read from these
ratios: the sorts without one read every matching job and sort them (a top-N heap sort), so their first page grows
with the number of jobs.

    .venv/bin/python bench/listing_sort.py [--jobs 1000000] [--rounds 20] [--deep 200] [--workers 2]
                                           [--pg-url postgresql+asyncpg://postgres@…/test]

The machine is shared: compare the ratios of one run, not absolute figures across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time

import httpx
import synthetic as s

PAGE = 50
SORTS = ["-started_at", "started_at", "-cost", "cost", "-gpu_hours", "gpu_hours"]


async def _median_ms(client: httpx.AsyncClient, headers: dict[str, str], params: dict[str, object],
                     rounds: int) -> float:
    times = []
    for _ in range(rounds + 1):
        started = time.perf_counter()
        response = await client.get("/api/v1/jobs", params=params, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return statistics.median(times[1:])  # the first warms the caches


async def _cursor_of_page(client: httpx.AsyncClient, headers: dict[str, str], sort: str, page: int) -> str:
    params: dict[str, object] = {"limit": PAGE, "include_total": "false", "sort": sort}
    cursor = ""
    for _ in range(page - 1):
        body = (await client.get("/api/v1/jobs", params={**params, **({"cursor": cursor} if cursor else {})},
                                 headers=headers)).json()
        cursor = body["next_cursor"]
    return cursor


async def measure(pg_url: str, n: int, seed: int, rounds: int, deep: int, workers: int) -> None:
    async with s.scratch_database(pg_url) as url:
        started = time.perf_counter()
        await s.bulk_load(url, n, seed, workers)
        print(f"  N = {n:,}: loaded in {time.perf_counter() - started:.0f} s")
        await s.create_users(url)
        async with s.Server(url) as server, httpx.AsyncClient(base_url=server.base_url, timeout=120) as client:
            headers = await s.bearer(client, s.ADMIN)
            figures: dict[str, tuple[float, float]] = {}
            for sort in SORTS:
                first = await _median_ms(client, headers, {"limit": PAGE, "include_total": "false", "sort": sort},
                                         rounds)
                cursor = await _cursor_of_page(client, headers, sort, deep)
                later = await _median_ms(client, headers, {"limit": PAGE, "include_total": "false", "sort": sort,
                                                           "cursor": cursor}, rounds)
                figures[sort] = (first, later)
            base_first, base_deep = figures["-started_at"]
            print(f"  {'sort':<12} {'first page':>12} {'ratio':>7} {f'page {deep:,}':>12} {'ratio':>7}")
            for sort, (first, later) in figures.items():
                print(f"  {sort:<12} {first:>9.1f} ms {first / base_first:>6.1f}x {later:>9.1f} ms "
                      f"{later / base_deep:>6.1f}x")


async def main(n: int, seed: int, rounds: int, deep: int, workers: int, pg_url: str) -> None:
    print(f"job listing sorts on PostgreSQL, {n:,} synthetic jobs (seed {seed}); p50 of {rounds} requests, one at "
          f"a time, {PAGE} jobs a page; one uvicorn worker")
    for line in await s.machine_facts(pg_url):
        print(line)
    print(f"load average at start: {s.load_average()}")
    await measure(pg_url, n, seed, rounds, deep, workers)
    print(f"load average at end: {s.load_average()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--deep", type=int, default=200, help="the cursor page measured besides the first")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="processes computing rows")
    parser.add_argument("--pg-url", default=s.DEFAULT_PG_URL)
    args = parser.parse_args()
    s.exit_on_sigterm()
    try:
        asyncio.run(main(args.jobs, args.seed, args.rounds, args.deep, args.workers, args.pg_url))
    except KeyboardInterrupt:
        raise SystemExit("interrupted: scratch databases dropped, server stopped") from None
