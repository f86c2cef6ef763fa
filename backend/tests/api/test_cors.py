"""CORS (F32): only configured origins are echoed, exactly, and credentials are never allowed cross-origin
(bearer tokens travel in a header, not in cookies)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.main import create_app
from tests.conftest import make_settings
from tests.databases import ScratchDatabase
from tests.factories import bearer, create_user

DASHBOARD = "https://dashboard.example.test"
EVIL = "https://evil.example"
ME = "/api/v1/auth/me"


def _preflight(origin: str) -> dict[str, str]:
    return {"Origin": origin, "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization"}


@asynccontextmanager
async def _client(app) -> AsyncIterator[httpx.AsyncClient]:  # noqa: ANN001
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def cors_client() -> AsyncIterator[httpx.AsyncClient]:
    """Preflights never reach a route, so no database is needed."""
    app = create_app(make_settings("sqlite+aiosqlite:///unused-by-these-tests.db", cors_origins=[DASHBOARD]))
    async with _client(app) as c:
        yield c


async def test_a_preflight_from_the_configured_origin_echoes_exactly_it(cors_client: httpx.AsyncClient) -> None:
    response = await cors_client.options(ME, headers=_preflight(DASHBOARD))

    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == DASHBOARD
    assert "access-control-allow-credentials" not in response.headers
    assert "authorization" in response.headers["access-control-allow-headers"].lower()
    assert "GET" in response.headers["access-control-allow-methods"]


@pytest.mark.parametrize("origin", [EVIL, "https://dashboard.example.test.evil.example", "null",
                                    "http://dashboard.example.test"])
async def test_a_preflight_from_any_other_origin_is_not_allowed(cors_client: httpx.AsyncClient, origin: str) -> None:
    response = await cors_client.options(ME, headers=_preflight(origin))

    assert response.status_code >= 400
    assert "access-control-allow-origin" not in response.headers
    assert response.headers.get("access-control-allow-credentials") != "true"


async def test_without_configured_origins_no_origin_is_allowed() -> None:
    app = create_app(make_settings("sqlite+aiosqlite:///unused-by-these-tests.db"))
    async with _client(app) as c:
        for origin in (DASHBOARD, EVIL):
            response = await c.options(ME, headers=_preflight(origin))
            assert "access-control-allow-origin" not in response.headers
            assert "access-control-allow-credentials" not in response.headers


async def test_real_requests_carry_the_origin_header_only_for_the_configured_origin(
    migrated_db: ScratchDatabase, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    settings = make_settings(migrated_db.url, cors_origins=[DASHBOARD])
    app = create_app(settings)
    app.state.sessionmaker = sessionmaker
    await create_user(sessionmaker, settings, "ana@example.test")
    async with _client(app) as c:
        headers = await bearer(c, "ana@example.test")
        allowed = await c.get(ME, headers={**headers, "Origin": DASHBOARD})
        foreign = await c.get(ME, headers={**headers, "Origin": EVIL})

    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == DASHBOARD
    assert "access-control-allow-credentials" not in allowed.headers
    # The server cannot stop a foreign page from sending; without the header the browser withholds the answer.
    assert foreign.status_code == 200
    assert "access-control-allow-origin" not in foreign.headers
    assert "access-control-allow-credentials" not in foreign.headers
