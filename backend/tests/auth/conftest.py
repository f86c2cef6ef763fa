"""Helpers for the auth tests: users through the real service, tokens forged by hand with PyJWT."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import jwt
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.db.models import User
from tests.conftest import TEST_SECRET
from tests.factories import create_user

UserMaker = Callable[..., Awaitable[User]]


@pytest.fixture
def make_user(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> UserMaker:
    """`await make_user(email, **kwargs)`: `tests.factories.create_user` bound to this test's database."""

    async def make(email: str, **kwargs: Any) -> User:
        return await create_user(sessionmaker, settings, email, **kwargs)

    return make


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def claims_for(user_id: uuid.UUID | str, **overrides: Any) -> dict[str, Any]:
    """Claims the app would issue for `user_id`, valid for an hour from now; `None` overrides drop a claim."""
    now = int(time.time())
    claims: dict[str, Any] = {"sub": str(user_id), "iss": "jobcost", "iat": now, "exp": now + 3600,
                              "jti": uuid.uuid4().hex, "gen": 0}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def forge(claims: dict[str, Any], *, key: str = TEST_SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


def unsigned(claims: dict[str, Any]) -> str:
    """An `alg: none` JWS built by hand: PyJWT will not produce one signed with nothing."""
    header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = b64url(json.dumps(claims).encode())
    return f"{header}.{payload}."
