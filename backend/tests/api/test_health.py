"""`/health` (process up) and `/health/ready` (database reachable), outside `/api/v1` and without a token; and
what every route answers while the database is down: 503, never a 500 or a traceback."""

from __future__ import annotations

import uuid

import httpx

from app.core.security import create_access_token
from tests.api.live import serve
from tests.api.problems import assert_problem
from tests.conftest import TEST_SECRET, make_settings

UNREACHABLE = "postgresql+asyncpg://postgres@127.0.0.1:1/nope"


async def test_health_needs_neither_token_nor_database(bare_client: httpx.AsyncClient) -> None:
    response = await bare_client.get("/health")

    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok"}


async def test_ready_when_the_database_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/ready")

    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok"}


async def test_ready_through_the_real_lifespan(fresh_db) -> None:
    async with serve(make_settings(fresh_db.url)) as (_, client):
        response = await client.get("/health/ready")

    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok"}


async def test_an_unreachable_database_is_503_everywhere_it_matters() -> None:
    token = create_access_token(uuid.uuid4(), secret=TEST_SECRET, minutes=5)

    async with serve(make_settings(UNREACHABLE, db_pool_timeout=3)) as (_, client):
        alive = await client.get("/health")
        ready = await client.get("/health/ready")
        me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        signin = await client.post("/api/v1/auth/token", data={"username": "ana@example.test",
                                                                "password": "correct horse battery staple"})

    assert alive.status_code == 200  # the process is up; only readiness depends on the database
    assert_problem(ready, 503)
    assert_problem(me, 503)
    assert_problem(signin, 503)
    for response in (ready, me, signin):
        assert "127.0.0.1" not in response.text and "nope" not in response.text
        # One problem type for one outage, whichever route met it, with a hint when to retry.
        assert response.json()["type"].endswith("/database-unavailable")
        assert response.headers["retry-after"] == "5"
