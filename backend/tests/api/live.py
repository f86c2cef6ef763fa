"""The app run through its real lifespan (engine created at start, disposed at end), for tests about the
engine itself: pools, dead connections, unreachable databases, production start-up checks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from app.core.config import Settings
from app.main import create_app


@asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        # The start-up's background check for legacy content hashes holds a connection while it runs: finished
        # first, so tests that count the pool's connections see only their own.
        if (check := getattr(app.state, "legacy_hash_check", None)) is not None:
            await check
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield app, client
