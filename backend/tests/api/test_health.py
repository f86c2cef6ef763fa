"""`/health` (process up) and `/health/ready` (database reachable), outside `/api/v1` and without a token; and
what every route answers while the database is down: 503, never a 500 or a traceback."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from app.core.security import create_access_token
from app.db import migrate
from app.main import SchemaOutOfDateError
from tests.api.live import serve
from tests.api.problems import assert_problem
from tests.conftest import TEST_SECRET, make_settings

UNREACHABLE = "postgresql+asyncpg://postgres@127.0.0.1:1/nope"


async def in_thread_async(fn: Callable[[], None]) -> None:
    await asyncio.to_thread(fn)  # Alembic runs its own event loop


@pytest.fixture
def empty_sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'never-migrated.db'}"


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


async def test_probes_answer_head_for_load_balancers(client: httpx.AsyncClient) -> None:
    for path in ("/health", "/health/ready"):
        response = await client.head(path)

        assert response.status_code == 200, path
        assert response.content == b""


async def test_the_service_refuses_to_start_on_a_database_that_was_never_migrated(empty_sqlite_url: str) -> None:
    with pytest.raises(SchemaOutOfDateError, match="jobcost db upgrade"):
        async with serve(make_settings(empty_sqlite_url)):
            pytest.fail("the app started")


async def test_the_service_refuses_to_start_on_an_older_schema(fresh_db) -> None:
    await in_thread_async(lambda: migrate.downgrade(fresh_db.url, "base"))

    with pytest.raises(SchemaOutOfDateError, match="no schema"):
        async with serve(make_settings(fresh_db.url)):
            pytest.fail("the app started")
