"""Fixtures for the storage tests: empty (unmigrated) databases, an engine of a test's own on `fresh_db`, a team
to own jobs, and a process time zone far from UTC."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.db.engine import create_sessionmaker
from app.db.models import Team
from tests.databases import ScratchDatabase, engine_for
from tests.db import builders


@pytest.fixture
def empty_db(backend: str, tmp_path: Path) -> Iterator[ScratchDatabase]:
    """A database with no schema at all, for tests that drive the migrations themselves."""
    db = ScratchDatabase(backend, tmp_path).create(migrated=False)
    try:
        yield db
    finally:
        db.drop()


@pytest.fixture
async def owner(session: AsyncSession) -> Team:
    """A team in the test's rolled-back transaction, for jobs to belong to."""
    team = builders.team("owner")
    session.add(team)
    await session.flush()
    return team


@pytest.fixture
async def fresh_engine(fresh_db: ScratchDatabase) -> AsyncIterator[AsyncEngine]:
    async with engine_for(fresh_db.url) as engine:
        yield engine


@pytest.fixture
def fresh_sessionmaker(fresh_engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """The app's own session factory on a database of the test's own: commits are real."""
    return create_sessionmaker(fresh_engine)


@pytest.fixture(params=["host-zone", "America/Chicago"])
def process_zone(request: pytest.FixtureRequest) -> str:
    """The test once in the host's zone and once in a zone six hours off UTC, where any naive conversion to
    local time would shift the stored instant."""
    if request.param == "America/Chicago":
        request.getfixturevalue("chicago_tz")
    return request.param


@pytest.fixture
def chicago_tz(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run the test with the process in America/Chicago (UTC-6 in January), where a naive datetime read as
    local time is visibly wrong. `tzset` must run again after the variable is restored, or later tests would
    inherit Chicago."""
    try:
        with monkeypatch.context() as patch:
            patch.setenv("TZ", "America/Chicago")
            time.tzset()
            # Without this the test could pass on a host where the zone failed to load (silent UTC fallback).
            offset = datetime(2026, 1, 10, 12, 0).astimezone().utcoffset()  # noqa: DTZ001 - local time on purpose
            assert offset == timedelta(hours=-6), offset
            yield
    finally:
        time.tzset()
