"""Test data builders: users, teams and real tokens, made through the same services the app uses."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.api_tokens import ApiTokenService, IssuedToken
from app.auth.service import AuthService
from app.core.config import Settings
from app.db.models import Role, TokenScope, User

DEFAULT_PASSWORD = "correct horse battery staple"


async def create_user(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    email: str,
    *,
    role: Role = Role.member,
    teams: Sequence[str] = (),
    password: str = DEFAULT_PASSWORD,
    active: bool = True,
) -> User:
    async with sessionmaker() as session:
        service = AuthService(session, settings)
        user = await service.create_user(email, password, role, teams)
        if not active:
            await service.set_active(email, False)
        await session.commit()
        return user


async def login(client: httpx.AsyncClient, email: str, password: str = DEFAULT_PASSWORD) -> httpx.Response:
    return await client.post("/api/v1/auth/token", data={"username": email, "password": password})


async def bearer(client: httpx.AsyncClient, email: str, password: str = DEFAULT_PASSWORD) -> dict[str, str]:
    """`Authorization` header with a real token obtained through the login endpoint."""
    response = await login(client, email, password)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def create_ingest_token(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    days: int = 30,
    name: str | None = "test cron",
    now: datetime | None = None,
) -> IssuedToken:
    """An ingest API token made (and committed) through the service, as `jobcost tokens create` makes it;
    `now` backdates it (a token created 31 days ago with `days=30` is expired)."""
    async with sessionmaker() as session:
        issued = await ApiTokenService(session, settings).create(TokenScope.ingest, days, name, now=now)
        await session.commit()
        return issued


async def create_read_token(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    teams: Sequence[str] = (),
    days: int = 30,
    name: str | None = "test dashboard",
    now: datetime | None = None,
) -> IssuedToken:
    """A read API token (every team, or `teams` only) made and committed through the service, as
    `jobcost tokens create --scope read [--team …]` makes it."""
    async with sessionmaker() as session:
        issued = await ApiTokenService(session, settings).create(TokenScope.read, days, name, teams=teams, now=now)
        await session.commit()
        return issued


def token_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
