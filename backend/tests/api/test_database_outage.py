"""Requests running while PostgreSQL drops the app's connections (as a restart or a failover does): no 500, every
503 has `Retry-After`, every acknowledged job is stored, and the service recovers by itself (issue 15, part 1).

The app's server processes on a scratch database of the test's own are terminated with `pg_terminate_backend`
again and again while ingests and reads run concurrently; the shared PostgreSQL server itself is left alone.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from app.db.models import Role
from tests.api.live import serve
from tests.api.problems import assert_problem
from tests.conftest import make_settings
from tests.databases import ScratchDatabase
from tests.factories import bearer, create_user
from tests.ingestion.conftest import INGEST, job

ROUNDS = 12  # rounds of concurrent requests while connections are being killed
READS = ("/api/v1/auth/me", "/api/v1/jobs?limit=5", "/api/v1/analytics/cost/by-team", "/api/v1/jobs/outage-0-0")


async def _kill_app_connections(dsn: str, database: str, stop: asyncio.Event, kills: list[int]) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        while not stop.is_set():
            kills.append(await conn.fetchval(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = $1 AND application_name = 'jobcost' AND pid <> pg_backend_pid()", database))
            await asyncio.sleep(0.15)
    finally:
        await conn.close()


@pytest.mark.pg_only
async def test_connections_dying_under_load_give_503s_not_500s(backend: str, fresh_db: ScratchDatabase) -> None:
    settings = make_settings(fresh_db.url, db_pool_size=4, db_max_overflow=0, db_pool_timeout=5)
    dsn = make_url(fresh_db.url).set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False)
    async with serve(settings) as (app, client):
        await create_user(app.state.sessionmaker, settings, "ops@example.test", role=Role.admin)
        admin = await bearer(client, "ops@example.test")

        async def ingest(round_: int, worker: int) -> tuple[httpx.Response, list[str]]:
            ids = [f"outage-{round_}-{worker}-{n}" for n in range(20)]
            return await client.post(INGEST, json={"jobs": [job(i) for i in ids]}, headers=admin), ids

        stop, kills = asyncio.Event(), []
        killer = asyncio.create_task(_kill_app_connections(dsn, fresh_db.name, stop, kills))
        statuses: Counter[int] = Counter()
        acknowledged: list[str] = []
        try:
            for round_ in range(ROUNDS):
                ingests = [ingest(round_, w) for w in range(3)]
                reads = [client.get(path, headers=admin) for path in READS]
                results = await asyncio.gather(*ingests, *reads)
                for result in results:
                    response, ids = result if isinstance(result, tuple) else (result, [])
                    statuses[response.status_code] += 1
                    assert response.status_code != 500, response.text
                    if response.status_code == 503:
                        assert_problem(response, 503, "database-unavailable")
                        assert int(response.headers["retry-after"]) > 0
                    elif response.status_code == 200 and ids:
                        acknowledged.extend(ids)
                    else:
                        assert response.status_code in (200, 404), (response.status_code, response.text)
        finally:
            stop.set()
            await killer

        assert sum(kills) > 0, "no connection was killed: the test proved nothing"
        assert statuses[503] > 0, f"no request met a dead connection: {dict(statuses)}, {sum(kills)} kills"
        # Recovered without a restart: every route answers again, and every acknowledged job is stored.
        for path in READS[:3]:
            response = await client.get(path, headers=admin)
            assert response.status_code == 200, response.text
        assert (await client.get("/health/ready")).status_code == 200
        stored: set[str] = set()
        cursor: str | None = None
        while True:
            page = (await client.get("/api/v1/jobs", headers=admin,
                                     params={"limit": 100, **({"cursor": cursor} if cursor else {})})).json()
            stored.update(j["job_id"] for j in page["jobs"])
            if not (cursor := page["next_cursor"]):
                break
        assert set(acknowledged) <= stored, sorted(set(acknowledged) - stored)[:5]
        print(f"outage figures: {dict(statuses)}, {sum(kills)} connections killed, "
              f"{len(acknowledged)} jobs acknowledged, all found")
