"""`GET /metrics` scraped after real requests, ingests and recosts: each counter moved by exactly what was done
(computed here by hand), requests are labelled by route template (never a raw path), 503s by cause. Both
databases."""

from __future__ import annotations

import asyncio
import platform
from typing import Any

import httpx
from fastapi import HTTPException
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.errors import DatabaseUnavailableError
from app.metrics.commits import count_ingest_on_commit
from tests.api.live import serve
from tests.ingestion.conftest import add_price, ingest_ok, job
from tests.metrics.scrape import delta, parse, scrape, value
from tests.recost.conftest import ingest

REQUESTS = "jobcost_http_requests_total"
LATENCY_COUNT = "jobcost_http_request_duration_seconds_count"
RECORDS = "jobcost_ingest_records_total"


async def test_requests_are_counted_by_route_template_and_status(client: httpx.AsyncClient) -> None:
    before = await scrape(client)
    for _ in range(3):
        assert (await client.get("/health")).status_code == 200
    for job_id in ("secret-job-7", "a/b/secret-job-8"):
        assert (await client.get(f"/api/v1/jobs/{job_id}")).status_code == 401
    assert (await client.get("/no/such/secret-path?q=leaked-query")).status_code == 404
    assert (await client.put("/api/v1/jobs")).status_code == 405
    response = await client.get("/metrics")
    after = parse(response.text)

    template = {"method": "GET", "route": "/api/v1/jobs/{job_id}", "status": "401"}
    assert delta(before, after, REQUESTS, method="GET", route="/health", status="200") == 3
    assert delta(before, after, REQUESTS, **template) == 2
    assert delta(before, after, REQUESTS, method="GET", route="unmatched", status="404") == 1
    assert delta(before, after, REQUESTS, method="PUT", route="/api/v1/jobs", status="405") == 1
    assert delta(before, after, LATENCY_COUNT, **template) == 2
    # The histogram's buckets are cumulative: the last one holds every observation.
    assert value(after, "jobcost_http_request_duration_seconds_bucket", **template, le="+Inf") == value(
        after, LATENCY_COUNT, **template)
    # The scrape before this one was counted as well.
    assert delta(before, after, REQUESTS, method="GET", route="/metrics", status="200") == 1
    for raw in ("secret", "no/such", "leaked-query"):
        assert raw not in response.text


async def test_ingest_records_are_counted_by_outcome(client: httpx.AsyncClient,
                                                     admin_headers: dict[str, str]) -> None:
    before = await scrape(client)
    batch = [job("m-1"), job("m-2"), job("m-1", gpu_count=4), job("m-3", ended_at="2026-01-01T00:00:00Z")]
    report = await ingest_ok(client, admin_headers, batch)
    assert (report["created"], report["superseded"], report["failed"]) == (2, 1, 1)
    await ingest_ok(client, admin_headers, batch)  # m-1 (its last copy) and m-2 unchanged, again 1 and 1
    await ingest_ok(client, admin_headers, [job("m-2", gpu_count=2)])  # updated
    ndjson = b'{"job_id": "m-4", "team": "vision"\nnot json\n'  # a refused record, a line that is not JSON
    response = await client.post("/api/v1/admin/ingest/jobs", content=ndjson,
                                 headers={**admin_headers, "Content-Type": "application/x-ndjson"})
    assert response.json()["failed"] == 2, response.text
    after = await scrape(client)
    expected = {"created": 2, "updated": 1, "unchanged": 2, "superseded": 2, "failed": 1 + 1 + 2}
    assert {o: delta(before, after, RECORDS, outcome=o) for o in expected} == expected


async def test_ingest_counts_wait_for_the_commit(session: AsyncSession, client: httpx.AsyncClient) -> None:
    before = await scrape(client)
    await session.execute(text("SELECT 1"))
    count_ingest_on_commit(session, {"created": 5, "failed": 1})
    await session.rollback()  # the batch was never stored: nothing counted
    assert delta(before, await scrape(client), RECORDS, outcome="created") == 0
    await session.execute(text("SELECT 1"))
    count_ingest_on_commit(session, {"created": 3, "updated": 0})
    assert delta(before, await scrape(client), RECORDS, outcome="created") == 0  # not committed yet
    await session.commit()
    after = await scrape(client)
    assert delta(before, after, RECORDS, outcome="created") == 3
    assert delta(before, after, RECORDS, outcome="failed") == 0


async def test_recosts_are_counted(client: httpx.AsyncClient, admin_headers: dict[str, str],
                                   sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    jobs = [job(f"r-{n}", gpu_type="T4", gpu_count=1, cost=None) for n in range(3)]
    await ingest(sessionmaker, [*jobs, job("r-billed")])  # the billed one is never recosted
    await add_price(sessionmaker, "T4", "0.50")
    before = await scrape(client)
    for _ in range(2):  # the first one prices the 3 jobs; the second finds nothing to change
        assert (await client.post("/api/v1/admin/prices/recost", headers=admin_headers)).status_code == 200
    after = await scrape(client)
    assert delta(before, after, "jobcost_recosts_total") == 2
    assert delta(before, after, "jobcost_recost_jobs_total", result="read") == 3 + 3
    assert delta(before, after, "jobcost_recost_jobs_total", result="recosted") == 3


async def test_503s_are_counted_by_cause_and_500s_by_status(app: Any, client: httpx.AsyncClient) -> None:
    async def down() -> None:
        raise DatabaseUnavailableError()

    async def lost() -> None:  # reaches only the catch-all handler, which still sees a lost connection
        raise RuntimeError("cleanup failed") from ConnectionResetError()

    async def pool() -> None:
        raise sa_exc.TimeoutError("QueuePool limit of size 5 overflow 10 reached")

    async def maintenance() -> None:
        raise HTTPException(503, "maintenance")

    async def bug() -> None:
        raise RuntimeError("a bug")

    for name, endpoint in [("down", down), ("lost", lost), ("pool", pool), ("maintenance", maintenance),
                           ("bug", bug)]:
        app.add_api_route(f"/test-faults/{name}/{{n}}", endpoint)
    before = await scrape(client)
    quiet = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                              base_url="http://testserver")
    async with quiet:
        statuses = [(await quiet.get(f"/test-faults/{name}/1")).status_code
                    for name in ("down", "lost", "pool", "maintenance", "bug")]
    assert statuses == [503, 503, 503, 503, 500]
    after = await scrape(client)
    assert delta(before, after, "jobcost_http_unavailable_total", cause="database-unavailable") == 3
    assert delta(before, after, "jobcost_http_unavailable_total", cause="other") == 1
    assert delta(before, after, "jobcost_db_pool_timeouts_total") == 1
    assert delta(before, after, REQUESTS, method="GET", route="/test-faults/lost/{n}", status="503") == 1
    assert delta(before, after, REQUESTS, method="GET", route="/test-faults/bug/{n}", status="500") == 1


async def test_build_info_names_version_python_and_database(client: httpx.AsyncClient, backend: str) -> None:
    samples = await scrape(client)
    database = "sqlite" if backend == "sqlite" else "postgresql"
    assert value(samples, "jobcost_build_info", version="0.1.0", python=platform.python_version(),
                 database=database) == 1


async def test_pool_gauges_follow_the_connections_in_use(settings: Any) -> None:
    async with serve(settings) as (app, client):
        held, release = asyncio.Event(), asyncio.Event()

        async def hold() -> dict[str, str]:
            async with app.state.sessionmaker() as session:
                await session.execute(text("SELECT 1"))  # a connection checked out until released
                held.set()
                await release.wait()
            return {}

        app.add_api_route("/test-hold", hold)
        idle = await scrape(client)
        # The pool is the engine's: SQLAlchemy's queue pool of 5 (+10 overflow) on SQLite, the settings' on PG.
        size, overflow = (5, 10) if settings.is_sqlite else (settings.db_pool_size, settings.db_max_overflow)
        assert value(idle, "jobcost_db_pool_size") >= size
        assert value(idle, "jobcost_db_pool_max_overflow") >= overflow
        request = asyncio.create_task(client.get("/test-hold"))
        await asyncio.wait_for(held.wait(), 10)
        busy = await scrape(client)
        release.set()
        assert (await request).status_code == 200
        done = await scrape(client)
    assert delta(idle, busy, "jobcost_db_pool_connections_in_use") == 1
    assert delta(idle, done, "jobcost_db_pool_connections_in_use") == 0
    assert value(done, "jobcost_db_pool_overflow") == 0


async def test_metrics_is_in_the_openapi_document(client: httpx.AsyncClient) -> None:
    operation = (await client.get("/openapi.json")).json()["paths"]["/metrics"]["get"]
    assert operation["summary"] == "Prometheus metrics"
    assert {"200", "401", "403"} <= set(operation["responses"])
