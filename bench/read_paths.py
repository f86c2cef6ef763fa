"""Latency of the read endpoints over a large job table, on SQLite and PostgreSQL (F18: paging and `total` stay
fast at 100k jobs).

Seeds N synthetic jobs (the generator of `ingest_batches.py`: 40 teams, 60 models, runs of minutes to 3 days in
January 2026) through the ingest endpoint, then times requests in-process (httpx ASGITransport, the real lifespan,
no network): job pages (first, deep, filtered), and cost by team and by model for one week and for all time. Each
request runs `--rounds` times; prints p50 and p95, and for the analytics the ratio to the same sums in raw SQL
(the floor an endpoint over the snapshots can reach).

    .venv/bin/python bench/read_paths.py [--jobs 100000] [--rounds 30] [--pg-url postgresql+asyncpg://…/test]

PostgreSQL runs in a scratch database it creates and drops (skipped when the server does not answer).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import date

import httpx
from ingest_batches import ADMIN, PASSWORD, synthetic_jobs
from scratch import create_user, on_each_database
from sqlalchemy import text

from app.core.config import Environment, Settings
from app.db import migrate
from app.db.engine import create_engine
from app.db.models import Role
from app.main import create_app

WEEK = "start=2026-01-08&end=2026-01-14"
RAW_SUMS = """
    SELECT j.{key}, sum(s.cost_micros), sum(s.gpu_us), count(DISTINCT s.job_pk)
    FROM cost_snapshots s JOIN jobs j ON j.id = s.job_pk
    WHERE s.day BETWEEN :start AND :end GROUP BY j.{key}
"""


async def _timed(rounds: int, call: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    """p50 and p95 in milliseconds over `rounds` calls, after one warm-up call."""
    await call()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(0, round(0.95 * len(samples)) - 1)]


async def run(url: str, label: str, n: int, rounds: int) -> None:
    await asyncio.to_thread(migrate.upgrade, url)
    settings = Settings(env=Environment.test, database_url=url, secret_key="b" * 48)
    await create_user(settings, ADMIN, PASSWORD, Role.admin)
    app = create_app(settings)
    jobs = synthetic_jobs(n)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=600) as client:
        token = (await client.post("/api/v1/auth/token", data={"username": ADMIN, "password": PASSWORD})).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        started = time.perf_counter()
        for i in range(0, n, 5_000):
            response = await client.post("/api/v1/admin/ingest/jobs", json={"jobs": jobs[i:i + 5_000]},
                                         headers=headers)
            if response.status_code != 200 or response.json()["failed"]:
                raise SystemExit(f"{label}: seeding failed: {response.status_code} {response.text[:300]}")
        print(f"  {label}: {n:,} jobs seeded in {time.perf_counter() - started:.1f} s")

        async def get(path: str) -> None:
            response = await client.get(path, headers=headers)
            if response.status_code != 200:
                raise SystemExit(f"{label} {path}: {response.status_code} {response.text[:300]}")

        engine = create_engine(settings)
        try:
            async def raw(key: str) -> None:
                async with engine.connect() as connection:
                    await connection.execute(text(RAW_SUMS.format(key=key)),
                                             {"start": date(2026, 1, 8), "end": date(2026, 1, 14)})

            for name, path in (
                ("jobs, first page (50)", "/api/v1/jobs?limit=50"),
                (f"jobs, deep page (skip {n - 100:,})", f"/api/v1/jobs?limit=100&skip={n - 100}"),
                ("jobs, team filter", "/api/v1/jobs?team=team-7&limit=50"),
                ("jobs, team+provider+gpu", "/api/v1/jobs?team=team-7&provider=aws&gpu_type=H100&limit=50"),
                ("jobs, started in a day", "/api/v1/jobs?started_after=2026-01-10T00:00:00Z"
                                           "&started_before=2026-01-11T00:00:00Z&limit=50"),
            ):
                p50, p95 = await _timed(rounds, lambda path=path: get(path))
                print(f"  {label:10s} {name:34s} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms")
            for name, path, key in (("by-team, one week", f"/api/v1/analytics/cost/by-team?{WEEK}", "team_id"),
                                    ("by-model, one week", f"/api/v1/analytics/cost/by-model?{WEEK}", "model_name")):
                p50, p95 = await _timed(rounds, lambda path=path: get(path))
                raw50, _ = await _timed(rounds, lambda key=key: raw(key))
                print(f"  {label:10s} {name:34s} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  raw SQL p50 {raw50:6.1f} ms"
                      f"  ratio {p50 / raw50:4.2f}x")
            for name, path in (("by-team, all time", "/api/v1/analytics/cost/by-team"),
                               ("by-model, all time", "/api/v1/analytics/cost/by-model")):
                p50, p95 = await _timed(rounds, lambda path=path: get(path))
                print(f"  {label:10s} {name:34s} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms")
        finally:
            await engine.dispose()


async def main(n: int, rounds: int, pg_url: str) -> None:
    print(f"read latency over {n:,} synthetic jobs, {rounds} rounds each, in-process ASGI")
    await on_each_database(lambda url, label: run(url, label, n, rounds), pg_url)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--pg-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    asyncio.run(main(args.jobs, args.rounds, args.pg_url))
