"""Ingest API tokens over HTTP: they ingest, and do nothing else.

The access matrix (`tests/access/test_routes_covered.py`) calls every route with one; here: what an accepted
ingest records, revocation and expiry taking effect at once, the default refusal on a route nobody wrote with
API tokens in mind, and the OpenAPI document.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from sqlalchemy import select

from app.api.deps import CurrentUser
from app.auth.api_tokens import ApiTokenService
from app.db.engine import create_sessionmaker
from app.db.models import ApiToken, Job
from tests.api.live import serve
from tests.api.problems import assert_problem, assert_unauthenticated
from tests.conftest import make_settings
from tests.databases import ScratchDatabase, engine_for
from tests.factories import bearer, create_ingest_token, create_user, token_headers
from tests.ingestion.conftest import INGEST, job, post_jobs

API = "/api/v1"
MOCK = f"{INGEST}/mock"
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


async def stored_token(sessionmaker: Any, token_id: Any) -> ApiToken:
    async with sessionmaker() as session:
        return (await session.execute(select(ApiToken).where(ApiToken.id == token_id))).scalar_one()


async def job_ids(sessionmaker: Any) -> list[str]:
    async with sessionmaker() as session:
        return sorted((await session.execute(select(Job.job_id))).scalars())


async def test_an_ingest_token_ingests_and_its_use_is_recorded(client: httpx.AsyncClient, sessionmaker,
                                                              settings) -> None:
    issued = await create_ingest_token(sessionmaker, settings)
    before = await stored_token(sessionmaker, issued.record.id)
    assert before.last_used_at is None

    response = await post_jobs(client, token_headers(issued.token), [job("cron-001"), job("cron-002")])

    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["received"], report["created"], report["failed"]) == (2, 2, 0)
    assert await job_ids(sessionmaker) == ["cron-001", "cron-002"]
    after = await stored_token(sessionmaker, issued.record.id)
    assert after.last_used_at is not None and after.last_used_at >= after.created_at
    assert after.updated_at == before.updated_at  # a use is not a change of the token


async def test_an_ingest_token_loads_the_mock_jobs(client: httpx.AsyncClient, sessionmaker, settings) -> None:
    issued = await create_ingest_token(sessionmaker, settings)
    response = await client.post(MOCK, headers=token_headers(issued.token))
    assert response.status_code == 200, response.text
    assert (response.json()["received"], response.json()["created"]) == (30, 30)


async def test_a_refused_ingest_records_no_use(client: httpx.AsyncClient, sessionmaker, settings) -> None:
    issued = await create_ingest_token(sessionmaker, settings)
    response = await client.post(INGEST, content=b"job_id,team\n", headers={
        **token_headers(issued.token), "Content-Type": "text/csv"})
    assert_problem(response, 415)
    assert (await stored_token(sessionmaker, issued.record.id)).last_used_at is None


async def test_revoking_refuses_the_token_at_once(client: httpx.AsyncClient, sessionmaker, settings) -> None:
    issued = await create_ingest_token(sessionmaker, settings)
    headers = token_headers(issued.token)
    assert (await post_jobs(client, headers, [job("cron-001")])).status_code == 200

    async with sessionmaker() as session:
        await ApiTokenService(session, settings).revoke(issued.record.id)
        await session.commit()

    for response in (await post_jobs(client, headers, [job("cron-002")]), await client.post(MOCK, headers=headers),
                     await client.get(f"{API}/jobs", headers=headers)):
        body = assert_unauthenticated(response)
        assert body["detail"] == "This API token has been revoked"
    assert await job_ids(sessionmaker) == ["cron-001"]


async def test_an_expired_token_is_refused(client: httpx.AsyncClient, sessionmaker, settings) -> None:
    issued = await create_ingest_token(sessionmaker, settings, days=30, now=LONG_AGO)  # expired 2020-01-31
    for response in (await post_jobs(client, token_headers(issued.token), [job("late-001")]),
                     await client.get(f"{API}/auth/me", headers=token_headers(issued.token))):
        body = assert_unauthenticated(response)
        assert body["detail"] == "This API token has expired"
    assert await job_ids(sessionmaker) == []


async def test_an_expiry_moved_earlier_in_the_database_applies_at_once(client: httpx.AsyncClient, sessionmaker,
                                                                       settings) -> None:
    issued = await create_ingest_token(sessionmaker, settings, days=365)
    async with sessionmaker() as session:
        row = await session.get(ApiToken, issued.record.id)
        assert row is not None
        row.expires_at = LONG_AGO
        await session.commit()
    assert_unauthenticated(await post_jobs(client, token_headers(issued.token), [job("cron-001")]))


async def test_reads_refuse_an_ingest_token_with_403(client: httpx.AsyncClient, sessionmaker, settings,
                                                     admin_headers) -> None:
    issued = await create_ingest_token(sessionmaker, settings)
    assert (await post_jobs(client, token_headers(issued.token), [job("cron-001")])).status_code == 200

    for path in (f"{API}/jobs", f"{API}/jobs/cron-001", f"{API}/auth/me", f"{API}/prices",
                 f"{API}/analytics/cost/by-team"):
        response = await client.get(path, headers=token_headers(issued.token))
        body = assert_problem(response, 403, "forbidden")
        assert "may only ingest" in body["detail"], (path, body)
        assert "www-authenticate" not in response.headers
    response = await client.delete(f"{API}/admin/jobs/cron-001", headers=token_headers(issued.token))
    assert_problem(response, 403, "forbidden")
    # The admin still reads the ingested job: the refusal above deleted nothing.
    assert (await client.get(f"{API}/jobs/cron-001", headers=admin_headers)).status_code == 200


async def test_a_route_written_without_api_tokens_in_mind_refuses_them(app, client: httpx.AsyncClient,
                                                                        sessionmaker, settings) -> None:
    """The refusal is the default: any route that takes `CurrentUser` refuses an ingest token, with no code of
    its own. A route added to the app here, after the fact, shows it."""
    extra = APIRouter()

    @extra.get("/api/v1/brand-new-report")
    async def brand_new_report(user: CurrentUser) -> dict[str, str]:
        return {"email": user.email}

    app.include_router(extra)
    await create_user(sessionmaker, settings, "member@new-route.test", teams=["nlp"])
    issued = await create_ingest_token(sessionmaker, settings)

    body = assert_problem(await client.get(f"{API}/brand-new-report", headers=token_headers(issued.token)), 403)
    assert "may only ingest" in body["detail"]
    member = await bearer(client, "member@new-route.test")
    assert (await client.get(f"{API}/brand-new-report", headers=member)).json() == {"email": "member@new-route.test"}


async def test_a_members_token_may_not_ingest(client: httpx.AsyncClient, member_headers) -> None:
    for response in (await post_jobs(client, member_headers, [job("m-001")]),
                     await client.post(MOCK, headers=member_headers)):
        body = assert_problem(response, 403, "forbidden")
        assert body["detail"] == "Ingesting needs the admin role or an ingest API token"


async def test_an_admin_still_ingests_with_its_sign_in_token(client: httpx.AsyncClient, admin_headers) -> None:
    response = await post_jobs(client, admin_headers, [job("admin-001")])
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 1


async def test_a_token_signed_with_another_key_is_refused(client: httpx.AsyncClient, sessionmaker,
                                                          settings) -> None:
    """`jobcost tokens create` run without the service's JOBCOST_SECRET_KEY makes a token no service accepts."""
    other = make_settings(settings.database_url, secret_key="o" * 64)
    async with sessionmaker() as session:
        issued = await ApiTokenService(session, other).create("ingest", 30)
        await session.commit()
    body = assert_unauthenticated(await post_jobs(client, token_headers(issued.token), [job("x-001")]))
    assert body["detail"] == "Invalid or expired bearer token"


async def test_concurrent_ingests_with_one_token_all_succeed(fresh_db: ScratchDatabase) -> None:
    """Each accepted ingest also writes the token's `last_used_at` (at the end of its writing transaction): ten
    concurrent batches with one token must neither deadlock nor find the database locked, on either backend."""
    settings = make_settings(fresh_db.url)
    async with engine_for(settings) as engine:
        issued = await create_ingest_token(create_sessionmaker(engine), settings)
        async with serve(settings) as (_, client):
            responses = await asyncio.wait_for(asyncio.gather(*(
                post_jobs(client, token_headers(issued.token), [job(f"cron-{n:02d}")]) for n in range(10))),
                timeout=120)
        assert [r.status_code for r in responses] == [200] * 10, [r.text for r in responses]
        assert sorted(await job_ids(create_sessionmaker(engine))) == [f"cron-{n:02d}" for n in range(10)]
        assert (await stored_token(create_sessionmaker(engine), issued.record.id)).last_used_at is not None


@pytest.fixture
async def spec(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def test_every_operation_taking_a_token_documents_403(spec: dict[str, Any]) -> None:
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if operation.get("security"):
                assert "403" in operation["responses"], (method, path)


def test_the_ingest_operations_say_they_take_an_ingest_token(spec: dict[str, Any]) -> None:
    for path in (INGEST, MOCK):
        responses = spec["paths"][path]["post"]["responses"]
        assert "ingest API token" in responses["401"]["description"], path
        assert "ingest API token" in responses["403"]["description"], path
    for path in (f"{API}/auth/me", f"{API}/prices", f"{API}/jobs/{{job_id}}"):
        refused = spec["paths"][path]["get"]["responses"]["403"]
        assert "may only ingest" in refused["content"]["application/problem+json"]["example"]["detail"], path
    (scheme,) = spec["components"]["securitySchemes"].values()
    assert "jobcost tokens create" in scheme["description"]
