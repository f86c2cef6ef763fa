"""F25: concurrent cost reports, each request on its own session, all answer 200 with the same figures.

The per-test rollback fixtures bind every session to one connection, which concurrent requests cannot share
(asyncpg refuses a second operation in progress), so this test runs the real app, through its lifespan, on a
committed database of its own (`fresh_db`), as DESIGN.md "Running it" asks for tests that need real concurrency.
"""

from __future__ import annotations

import asyncio

from app.db.engine import create_sessionmaker
from app.db.models import Role
from tests.analytics.conftest import BY_MODEL, BY_TEAM, check_report, totals
from tests.api.live import serve
from tests.conftest import make_settings
from tests.databases import ScratchDatabase, engine_for
from tests.factories import bearer, create_user
from tests.ingestion.conftest import ingest_ok, job

N_REQUESTS = 30
WINDOW = {"start": "2026-01-10", "end": "2026-01-14"}


async def test_f25_concurrent_reports_all_succeed_with_identical_totals(fresh_db: ScratchDatabase) -> None:
    settings = make_settings(fresh_db.url)
    async with engine_for(fresh_db.url) as engine:
        await create_user(create_sessionmaker(engine), settings, "reader@example.test", role=Role.admin)

    # 50 jobs over 3 teams, 3 models and 5 days (Jan 10–14), i × 1.25 USD each, 8 GPUs × 4 h = 32 GPU-h each;
    # every fourth job runs across midnight into the next day (inside the window except from Jan 14).
    jobs = []
    for i in range(50):
        day = 10 + i % 5
        start, end = (f"2026-01-{day}T22:00:00Z", f"2026-01-{day + 1}T02:00:00Z") if i % 4 == 0 else \
            (f"2026-01-{day}T08:00:00Z", f"2026-01-{day}T12:00:00Z")
        jobs.append(job(f"read-{i:02d}", team=("vision", "nlp", "speech")[i % 3],
                        model_name=("resnet", "bert", "whisper")[i % 3 if i % 2 else (i + 1) % 3],
                        cost=f"{i * 1.25:.2f}", started_at=start, ended_at=end))

    async with serve(settings) as (_, client):
        headers = await bearer(client, "reader@example.test")
        result = await ingest_ok(client, headers, jobs)
        assert (result["created"], result["failed"]) == (50, 0), result

        sequential = {}
        for endpoint in (BY_TEAM, BY_MODEL):
            response = await client.get(endpoint, params=WINDOW, headers=headers)
            assert response.status_code == 200, response.text
            sequential[endpoint] = check_report(response.json(), endpoint)
        assert totals(sequential[BY_TEAM]) == totals(sequential[BY_MODEL])
        assert len(sequential[BY_TEAM]["items"]) == 3
        assert len(sequential[BY_MODEL]["items"]) == 3

        endpoints = [(BY_TEAM, BY_MODEL)[i % 2] for i in range(N_REQUESTS)]
        responses = await asyncio.wait_for(asyncio.gather(
            *(client.get(endpoint, params=WINDOW, headers=headers) for endpoint in endpoints)), timeout=120)

    assert [r.status_code for r in responses] == [200] * N_REQUESTS, \
        [r.text for r in responses if r.status_code != 200]
    for endpoint, response in zip(endpoints, responses, strict=True):
        body = check_report(response.json(), endpoint)
        assert body == sequential[endpoint]
