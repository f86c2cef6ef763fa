"""Ingest throughput of JSON batches through the real app, on SQLite and PostgreSQL.

Synthetic jobs (seeded: 40 teams, 60 models, the catalog's GPU types and providers, runs from minutes to 3 days
in January 2026, a third of them billed) are posted as `POST /api/v1/admin/ingest/jobs` batches in-process
(httpx ASGITransport, the real lifespan, no network): first as new jobs, then the same batches again (all
unchanged: nothing is written), then with every cost changed (all updated: jobs rewritten, snapshots replaced).
Prints jobs/s and snapshot rows for each pass, and the ratios of the re-ingests to the first pass.

    .venv/bin/python bench/ingest_batches.py [--jobs 20000] [--batch 5000] [--pg-url postgresql+asyncpg://…/test]

PostgreSQL runs in a scratch database it creates and drops (skipped when the server does not answer).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from scratch import create_user, on_each_database
from sqlalchemy import func, select

from app.core.config import Environment, Settings
from app.db import migrate
from app.db.engine import create_engine, create_sessionmaker
from app.db.models import CostSnapshot, Role
from app.main import create_app

ADMIN, PASSWORD = "bench@example.test", "bench-password-0123"
GPUS = [("aws", "H100"), ("aws", "A10G"), ("aws", "T4"), ("gcp", "A100-80GB"), ("gcp", "L4"),
        ("azure", "A100-40GB"), ("lambda", "H100"), ("onprem", "RTX-A6000")]


def synthetic_jobs(n: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    base = datetime(2026, 1, 1, tzinfo=UTC)
    jobs = []
    for i in range(n):
        provider, gpu = rng.choice(GPUS)
        start = base + timedelta(seconds=rng.randrange(28 * 86_400))
        end = start + timedelta(seconds=rng.choice([rng.randrange(60, 3_600), rng.randrange(3_600, 86_400),
                                                    rng.randrange(86_400, 3 * 86_400)]))
        job = {"job_id": f"bench-{i:08d}", "team": f"team-{rng.randrange(40)}",
               "model_name": f"model-{rng.randrange(60)}", "gpu_type": gpu, "gpu_count": rng.choice([1, 2, 4, 8]),
               "provider": provider, "status": "succeeded", "user": f"user-{rng.randrange(300)}",
               "started_at": start.isoformat(), "ended_at": end.isoformat()}
        if rng.random() < 0.33:
            job["cost"] = f"{rng.randrange(1, 10**8) / 100:.2f}"
        jobs.append(job)
    return jobs


async def _snapshot_rows(settings: Settings) -> int:
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            return int((await session.execute(select(func.count()).select_from(CostSnapshot))).scalar_one())
    finally:
        await engine.dispose()


async def run(url: str, label: str, jobs: list[dict[str, Any]], batch: int) -> None:
    await asyncio.to_thread(migrate.upgrade, url)
    settings = Settings(env=Environment.test, database_url=url, secret_key="b" * 48)
    await create_user(settings, ADMIN, PASSWORD, Role.admin)
    app = create_app(settings)
    batches = [jobs[i:i + batch] for i in range(0, len(jobs), batch)]
    changed = [[{**j, "cost": "1.23"} for j in part] for part in batches]
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=600) as client:
        token = (await client.post("/api/v1/auth/token", data={"username": ADMIN, "password": PASSWORD})).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        rates = {}
        for name, parts, field in (("new", batches, "created"), ("same again", batches, "unchanged"),
                                   ("costs changed", changed, "updated")):
            started = time.perf_counter()
            for part in parts:
                response = await client.post("/api/v1/admin/ingest/jobs", json={"jobs": part}, headers=headers)
                report = response.json()
                if response.status_code != 200 or report.get(field) != len(part):
                    raise SystemExit(f"{label} {name}: unexpected answer {response.status_code}: {report}")
            seconds = time.perf_counter() - started
            rates[name] = len(jobs) / seconds
            print(f"  {label:10s} {name:14s} {len(jobs):>7,} jobs in {seconds:6.2f} s  {rates[name]:>8,.0f} jobs/s")
    print(f"  {label:10s} snapshot rows: {await _snapshot_rows(settings):,}; ratios to 'new': same again "
          f"{rates['same again'] / rates['new']:.2f}x, costs changed {rates['costs changed'] / rates['new']:.2f}x")


async def main(n: int, batch: int, pg_url: str) -> None:
    jobs = synthetic_jobs(n)
    print(f"ingest throughput, {n:,} synthetic jobs in JSON batches of {batch:,}, in-process ASGI")
    await on_each_database(lambda url, label: run(url, label, jobs, batch), pg_url)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--pg-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    asyncio.run(main(args.jobs, args.batch, args.pg_url))
