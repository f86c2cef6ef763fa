"""Scratch databases for the suite: one SQLite file or one PostgreSQL database per use, created, migrated and
dropped by the tests themselves. The suite never touches a database it did not create."""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.config import Environment, Settings
from app.db import migrate
from app.db.engine import create_engine, create_sessionmaker
from app.pricing.catalog import default_catalog
from app.pricing.service import sync_catalog

T = TypeVar("T")

PG_URL = os.environ.get("JOBCOST_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("REQUIRE_PG", "") not in ("", "0", "false", "no")
BACKENDS = ("sqlite", "postgresql")
# Every table the migrations make, written out rather than read from Base.metadata: a model that the migrations
# forgot must fail the tests that compare with it.
APP_TABLES = {"teams", "users", "team_members", "jobs", "cost_snapshots", "gpu_prices", "api_tokens", "api_token_teams",
              "daily_team_costs", "daily_model_costs", "daily_usage_costs", "daily_status_costs", "daily_gpu_costs",
              "daily_team_status_costs", "daily_team_gpu_costs", "daily_team_model_costs",
              "monthly_team_model_costs", "operations", "name_aliases", "price_changes",
              "budgets", "alert_events", "webhooks", "webhook_deliveries", "login_throttles",
              "energy_coefficient_overrides", "energy_coefficient_changes"}


@asynccontextmanager
async def engine_for(url_or_settings: str | Settings) -> AsyncIterator[AsyncEngine]:
    """The app's own engine for a database URL (or settings), disposed on exit: for reading committed data
    from outside the code under test."""
    settings = url_or_settings if isinstance(url_or_settings, Settings) else Settings(
        env=Environment.test, database_url=url_or_settings)
    engine = create_engine(settings)
    try:
        yield engine
    finally:
        await engine.dispose()


def in_thread(fn: Callable[[], T]) -> T:
    """Run blocking code that may call `asyncio.run` (Alembic's async env) off the test's event loop."""
    result: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            result.append(fn())
        except BaseException as exc:  # re-raised in the caller
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0]


def _pg_dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url)
    if database:
        parsed = parsed.set(database=database)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def pg_unreachable_reason() -> str | None:
    """None when PostgreSQL at JOBCOST_TEST_PG_URL answers, else why not."""

    async def probe() -> None:
        conn = await asyncpg.connect(_pg_dsn(PG_URL), timeout=5)
        await conn.close()

    try:
        in_thread(lambda: asyncio.run(probe()))
    except Exception as exc:
        return f"PostgreSQL at {make_url(PG_URL).render_as_string()} unreachable: {type(exc).__name__}: {exc}"
    return None


async def _load_price_catalog(url: str) -> None:
    async with engine_for(url) as engine, create_sessionmaker(engine)() as session:
        await sync_catalog(session, default_catalog())
        await session.commit()


class ScratchDatabase:
    """A new, empty database of `backend` kind; `url` is its SQLAlchemy async URL."""

    def __init__(self, backend: str, tmp_dir: Path) -> None:
        self.backend = backend
        name = f"jobcost_test_{os.getpid()}_{uuid.uuid4().hex[:10]}"
        if backend == "sqlite":
            self.path: Path | None = tmp_dir / f"{name}.db"
            self.url = f"sqlite+aiosqlite:///{self.path}"
        else:
            self.path = None
            self.name = name
            self.url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)

    def _admin(self, sql: str) -> None:
        async def run() -> None:
            conn = await asyncpg.connect(_pg_dsn(PG_URL))
            try:
                await conn.execute(sql)
            finally:
                await conn.close()

        in_thread(lambda: asyncio.run(run()))

    def create(self, *, migrated: bool = True) -> ScratchDatabase:
        """Create the database; when `migrated`, also upgrade it to head and load the bundled GPU price catalog,
        as the service's start does."""
        if self.backend == "postgresql":
            self._admin(f'CREATE DATABASE "{self.name}"')
        if migrated:
            in_thread(lambda: migrate.upgrade(self.url))
            in_thread(lambda: asyncio.run(_load_price_catalog(self.url)))
        return self

    def drop(self) -> None:
        if self.backend == "postgresql":
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        elif self.path is not None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
