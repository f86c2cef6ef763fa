"""Test data builders: users, teams and real tokens, made through the same services the app uses."""

from __future__ import annotations

from collections.abc import Sequence

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.service import AuthService
from app.core.config import Settings
from app.db.models import Role, User

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
