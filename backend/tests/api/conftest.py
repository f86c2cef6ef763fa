"""Fixtures for the api tests: an app with no database at all, and an environment free of JOBCOST_* leaks."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import APIRouter, FastAPI

from app.main import create_app
from tests.conftest import make_settings


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Settings read only what the test sets: a developer's or CI's JOBCOST_* variables must not decide."""
    for name in list(os.environ):
        if name.startswith("JOBCOST_") or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    return monkeypatch


@pytest.fixture
def bare_app() -> FastAPI:
    """The app without lifespan or sessionmaker: a route that touches the database fails loudly (500) here, so
    tests using it also prove the route needs no database."""
    return create_app(make_settings("sqlite+aiosqlite:///unused-by-these-tests.db"))


@pytest.fixture
async def bare_client(bare_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=bare_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@asynccontextmanager
async def probe_client_for(app: FastAPI, router: APIRouter) -> AsyncIterator[httpx.AsyncClient]:
    """A client of `app` with the test's probe routes added. raise_app_exceptions=False: Starlette re-raises a
    500's exception after sending the response, for servers to log; the client must still see only the response."""
    app.include_router(router)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
