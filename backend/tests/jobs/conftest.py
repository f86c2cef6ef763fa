"""Fixtures and helpers for the `/jobs` tests: an admin's headers, listing calls, and reading teams' ids.

`admin_headers` stores an admin row directly and signs its token with the app's own `create_access_token` and the
test settings' key, so the app verifies a real token and loads a real user on every request, without the two
argon2 hashes (about half a second) that creating the user through AuthService and logging in would cost per
test. Logging in itself is tested in tests/auth.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.core.security import create_access_token
from app.db.models import Role, Team, User

JOBS = "/api/v1/jobs"

Params = dict[str, Any] | list[tuple[str, Any]]


@pytest.fixture
async def admin_headers(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> dict[str, str]:
    async with sessionmaker() as session:
        # No password can match this hash: the user signs in only through the token below.
        admin = User(email="jobs-admin@example.test", hashed_password="!unusable", role=Role.admin)
        session.add(admin)
        await session.commit()
    token = create_access_token(admin.id, secret=settings.secret_key.get_secret_value(),
                                minutes=settings.access_token_minutes)
    return {"Authorization": f"Bearer {token}"}


async def list_jobs(client: httpx.AsyncClient, headers: dict[str, str], params: Params | None = None
                    ) -> httpx.Response:
    return await client.get(JOBS, params=params or {}, headers=headers)


async def list_ok(client: httpx.AsyncClient, headers: dict[str, str], params: Params | None = None
                  ) -> dict[str, Any]:
    response = await list_jobs(client, headers, params)
    assert response.status_code == 200, response.text
    return response.json()


def job_url(job_id: str) -> str:
    """The detail URL of `job_id`: `/` and `:` kept as they are, everything else that is not URL-safe escaped."""
    return f"{JOBS}/{quote(job_id, safe='/:')}"


async def get_job(client: httpx.AsyncClient, headers: dict[str, str], job_id: str,
                  params: Params | None = None) -> httpx.Response:
    return await client.get(job_url(job_id), params=params or {}, headers=headers)


def ids(body: dict[str, Any]) -> list[str]:
    return [j["job_id"] for j in body["jobs"]]


async def team_id(sessionmaker: async_sessionmaker[AsyncSession], name_key: str) -> str:
    """The id of the team whose name key (trimmed, case-folded name) is `name_key`, read from the database."""
    async with sessionmaker() as session:
        found = (await session.execute(select(Team.id).where(Team.name_key == name_key))).scalar_one()
        return str(found)
