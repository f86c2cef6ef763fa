"""Job listing throughput and deep-page latency: jobcost's `GET /api/v1/jobs` against a minimal raw endpoint.

A scratch PostgreSQL database (real migrations) is loaded with `--jobs` synthetic jobs (`synthetic.bulk_load`:
jobs, snapshots, rollups, indexes rebuilt, VACUUM ANALYZE). Two servers answer on loopback, one process each:

  jobcost  `jobcost serve` (one uvicorn worker), signed in as an admin (a real JWT, checked on every request)
  raw      a plain ASGI app under uvicorn with an asyncpg pool: the same SELECT (the page's columns joined to the
           team name, in the listing order, `limit + 1` rows), the same JSON (decimal strings, RFC 3339 UTC,
           `total`/`has_more`/`next_cursor`), optionally the same `count(*)`; no authentication, no framework

wrk (2 threads, 32 connections, `--seconds` each, after a 3 s warm-up) measures requests/s of:

  first page, counted     jobcost `?limit=50` (total counted, as every skip page)   vs raw with count(*)
  first page, uncounted   jobcost `?limit=50&include_total=false`                   vs raw without count(*)
  cursor page 2,000       jobcost `?limit=50&cursor=<page 2,000>`                   vs raw keyset page 2,000

and prints each ratio jobcost / raw (target >= 0.5x) with the server CPU per request. Then, one request at a time
(`--rounds` each, after a warm-up), the latency of cursor page 2,000 (its cursor found by following 1,999 pages)
against page 1 (target <= 1.5x), and of `skip` page 2,000 for comparison.

    .venv/bin/python bench/listing.py [--jobs 1000000] [--seconds 20] [--rounds 50] [--workers 2]
                                      [--pg-url postgresql+asyncpg://postgres@…/test]

Needs `wrk` (Debian: `apt-get install wrk`). The machine is shared: compare the ratios of one run, not absolute
figures across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import synthetic as s

PAGE = 50
DEEP_PAGE = 2_000
TARGET_RATIO = 0.5
TARGET_DEEP = 1.5
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# The service's page, as one statement. `$1`: limit + 1; keyset variants add the position after the filter.
_COLUMNS = """j.id, j.job_id, j.team_id, t.name AS team_name, j.status, j.model_name, j.gpu_type, j.gpu_milli,
    j.provider, j.user_name, j.submitted_at, j.started_at, j.ended_at, j.observed_at, j.gpu_us, j.cost_micros,
    j.billed_cost_micros, j.cost_source, j.labels, j.created_at, j.updated_at"""
_ORDER = 'ORDER BY j.started_at DESC NULLS LAST, j.job_id COLLATE "C" LIMIT $1'
RAW_FIRST = f"SELECT {_COLUMNS} FROM jobs j JOIN teams t ON t.id = j.team_id {_ORDER}"  # noqa: S608
RAW_AFTER = (f"SELECT {_COLUMNS} FROM jobs j JOIN teams t ON t.id = j.team_id "  # noqa: S608
             f'WHERE j.started_at <= $2 AND (j.started_at < $2 OR j.job_id COLLATE "C" > $3) {_ORDER}')
RAW_COUNT = "SELECT count(*) FROM jobs"


# --- the raw endpoint ---------------------------------------------------------------------------------------------

def _usd(micros: int | None) -> str | None:
    return None if micros is None else f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def _hours(gpu_us: int) -> str:
    micro_hours, rest = divmod(gpu_us, 3_600)
    if rest * 2 > 3_600 or (rest * 2 == 3_600 and micro_hours % 2):
        micro_hours += 1
    return _usd(micro_hours) or "0"


def _instant(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _job(row: asyncpg.Record) -> dict[str, Any]:
    milli = row["gpu_milli"]
    return {
        "id": str(row["id"]), "job_id": row["job_id"], "team": {"id": str(row["team_id"]), "name": row["team_name"]},
        "status": row["status"], "model_name": row["model_name"], "gpu_type": row["gpu_type"],
        "gpu_count": str(milli // 1000) if milli % 1000 == 0 else f"{milli / 1000:g}", "provider": row["provider"],
        "user": row["user_name"], "submitted_at": _instant(row["submitted_at"]),
        "started_at": _instant(row["started_at"]), "ended_at": _instant(row["ended_at"]),
        "observed_at": _instant(row["observed_at"]), "gpu_hours": _hours(row["gpu_us"]),
        "cost": _usd(row["cost_micros"]), "billed_cost": _usd(row["billed_cost_micros"]),
        "cost_source": row["cost_source"], "currency": "USD", "labels": json.loads(row["labels"]),
        "created_at": _instant(row["created_at"]), "updated_at": _instant(row["updated_at"]), "snapshots": None,
    }


def raw_app(dsn: str) -> Any:
    """The raw endpoint, plain ASGI: `GET /jobs?limit=N[&count=1][&after=<started_at µs>,<job_id>]`."""
    state: dict[str, asyncpg.Pool] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    state["pool"] = await asyncpg.create_pool(dsn, min_size=10, max_size=10,
                                                              server_settings={"timezone": "UTC"})
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await state["pool"].close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        params = dict(urllib.parse.parse_qsl(scope["query_string"].decode()))
        limit = int(params.get("limit", PAGE))
        async with state["pool"].acquire() as connection:
            total = await connection.fetchval(RAW_COUNT) if params.get("count") == "1" else None
            if "after" in params:
                micros, job_id = params["after"].split(",", 1)
                rows = await connection.fetch(RAW_AFTER, limit + 1, _EPOCH + timedelta(microseconds=int(micros)),
                                              job_id)
            else:
                rows = await connection.fetch(RAW_FIRST, limit + 1)
        last = rows[limit - 1] if len(rows) > limit else None
        body = json.dumps({
            "jobs": [_job(r) for r in rows[:limit]], "total": total, "skip": 0, "limit": limit,
            "has_more": last is not None,
            "next_cursor": None if last is None else f"{(last['started_at'] - _EPOCH) // timedelta(microseconds=1)},"
                                                     f"{last['job_id']}"}, separators=(",", ":")).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    return app


@contextlib.asynccontextmanager
async def raw_server(url: str) -> AsyncIterator[str]:
    """The raw endpoint under uvicorn (one process) on a free port; yields its base URL."""
    port = s._free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--serve-raw", s.asyncpg_dsn(url), "--port", str(port),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=2) as client:
            for _ in range(150):
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/jobs?limit=1")).status_code == 200:
                        break
                await asyncio.sleep(0.2)
            else:
                raise RuntimeError("the raw endpoint did not start")
        yield base
    finally:
        process.terminate()
        await process.wait()


# --- measurements -------------------------------------------------------------------------------------------------

def wrk(url: str, seconds: int, headers: dict[str, str]) -> float:
    """Requests/s of `url` under wrk, 2 threads × 32 connections, after a 3 s warm-up; refuses any non-2xx."""
    args = ["wrk", "-t2", "-c32"] + [x for k, v in headers.items() for x in ("-H", f"{k}: {v}")]
    subprocess.run([*args, "-d3s", url], check=True, capture_output=True)  # noqa: S603
    out = subprocess.run([*args, f"-d{seconds}s", url], check=True, capture_output=True, text=True).stdout  # noqa: S603
    if "Non-2xx" in out:
        raise RuntimeError(f"wrk saw errors on {url}:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]


async def latency(client: httpx.AsyncClient, path: str, headers: dict[str, str], rounds: int) -> float:
    """p50 in ms of `rounds` requests one at a time, after one warm-up."""
    samples = []
    for i in range(rounds + 1):
        started = time.perf_counter()
        response = await client.get(path, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")
        if i:
            samples.append((time.perf_counter() - started) * 1000)
    return s.percentile(samples, 0.5)


async def deep_cursor(client: httpx.AsyncClient, path: str, headers: dict[str, str], key: str = "cursor") -> str:
    """The cursor of page DEEP_PAGE, found by following the cursors of the pages before it."""
    cursor = None
    for _ in range(DEEP_PAGE - 1):
        suffix = "" if cursor is None else f"&{key}={httpx.QueryParams({key: cursor})[key]}"
        response = await client.get(path + suffix, headers=headers)
        cursor = response.json()["next_cursor"]
        if cursor is None:
            raise RuntimeError(f"fewer than {DEEP_PAGE} pages of {PAGE}: load more jobs")
    return str(cursor)


async def throughput(label: str, base: str, headers: dict[str, str], raw: str, seconds: int,
                     pid: int) -> dict[str, float]:
    """Requests/s of the three listing requests on the server at `base`, and the raw endpoint's for each."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        cursor = await deep_cursor(client, f"/api/v1/jobs?limit={PAGE}&include_total=false", headers)
    async with httpx.AsyncClient(base_url=raw, timeout=60) as client:
        raw_after = await deep_cursor(client, f"/jobs?limit={PAGE}", {}, key="after")
    cases = {
        "first page, counted": (f"/api/v1/jobs?limit={PAGE}", "&count=1"),
        "first page, uncounted": (f"/api/v1/jobs?limit={PAGE}&include_total=false", ""),
        f"cursor page {DEEP_PAGE:,}": (f"/api/v1/jobs?limit={PAGE}&{httpx.QueryParams({'cursor': cursor})}",
                                       f"&{httpx.QueryParams({'after': raw_after})}"),
    }
    results = {}
    for case, (path, raw_suffix) in cases.items():
        cpu = s.process_cpu_seconds(pid)
        started = time.perf_counter()
        ours = wrk(base + path, seconds, headers)
        cpu_ms = (s.process_cpu_seconds(pid) - cpu) * 1000 / (ours * (time.perf_counter() - started))
        theirs = wrk(f"{raw}/jobs?limit={PAGE}{raw_suffix}", seconds, {})
        ratio = ours / theirs
        results[case] = ratio
        print(f"    {label:8s} {case:24s} {ours:8.1f} req/s  raw {theirs:8.1f} req/s  {ratio:5.2f}x  "
              f"(server CPU {cpu_ms:.2f} ms/request incl. warm-up)  "
              f"{'met' if ratio >= TARGET_RATIO else 'MISSED'} (target >= {TARGET_RATIO}x)")
    return results


async def deep_latency(base: str, headers: dict[str, str], rounds: int) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        first = f"/api/v1/jobs?limit={PAGE}&include_total=false"
        cursor = await deep_cursor(client, first, headers)
        page1 = await latency(client, first, headers, rounds)
        counted1 = await latency(client, f"/api/v1/jobs?limit={PAGE}", headers, rounds)
        deep = await latency(client, f"{first}&{httpx.QueryParams({'cursor': cursor})}", headers, rounds)
        skip = await latency(client, f"/api/v1/jobs?limit={PAGE}&skip={(DEEP_PAGE - 1) * PAGE}", headers,
                             max(5, rounds // 5))
    ratio = deep / page1
    print(f"    p50 page 1 (no count) {page1:.2f} ms; page 1 counted {counted1:.2f} ms; cursor page {DEEP_PAGE:,} "
          f"{deep:.2f} ms: {ratio:.2f}x page 1 {'met' if ratio <= TARGET_DEEP else 'MISSED'} (target <= "
          f"{TARGET_DEEP}x); skip page {DEEP_PAGE:,} (skip={(DEEP_PAGE - 1) * PAGE:,}, counted) {skip:.2f} ms")


async def measure(pg_url: str, n: int, seed: int, seconds: int, rounds: int, workers: int) -> None:
    async with s.scratch_database(pg_url) as url:
        started = time.perf_counter()
        steps = await s.bulk_load(url, n, seed, workers)
        print(f"  N = {n:,}: loaded in {time.perf_counter() - started:.0f} s ("
              + ", ".join(f"{name} {sec:.0f} s" for name, sec in steps.items()) + ")")
        await s.create_users(url)
        async with raw_server(url) as raw, s.Server(url) as server:
            async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:
                headers = await s.bearer(client, s.ADMIN)
            await throughput("jobcost", server.base_url, headers, raw, seconds, server.pid)
            await deep_latency(server.base_url, headers, rounds)


async def main(ns: list[int], seed: int, seconds: int, rounds: int, workers: int, pg_url: str) -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install wrk")
    print(f"job listing on PostgreSQL, {', '.join(f'{n:,}' for n in ns)} synthetic jobs (seed {seed}); wrk 2 threads "
          f"x 32 connections, {seconds} s per figure; one uvicorn worker per server; latencies p50 of {rounds}")
    for line in await s.machine_facts(pg_url):
        print(line)
    print(f"load average at start: {s.load_average()}")
    for n in ns:
        await measure(pg_url, n, seed, seconds, rounds, workers)
    print(f"load average at end: {s.load_average()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", default="1000000", help="comma-separated job counts (at least 100,000)")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="processes computing rows")
    parser.add_argument("--pg-url", default=s.DEFAULT_PG_URL)
    parser.add_argument("--serve-raw", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_raw:
        import uvicorn
        uvicorn.run(raw_app(args.serve_raw), host="127.0.0.1", port=args.port, log_level="warning", workers=1)
        raise SystemExit(0)
    s.exit_on_sigterm()
    try:
        asyncio.run(main([int(n) for n in args.jobs.split(",")], args.seed, args.seconds, args.rounds, args.workers,
                         args.pg_url))
    except KeyboardInterrupt:
        raise SystemExit("interrupted: scratch databases dropped, servers stopped") from None
