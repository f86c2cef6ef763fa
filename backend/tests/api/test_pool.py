"""The connection pool under failure (F26) and after the server drops its connections (F27), through the
real lifespan on a database of the test's own."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from app.auth.service import AuthService
from app.core.config import Settings
from tests.api.live import serve
from tests.api.problems import assert_problem, assert_unauthenticated
from tests.conftest import make_settings
from tests.databases import ScratchDatabase
from tests.factories import bearer, create_user, login

ME = "/api/v1/auth/me"
SMALL_POOL = {"db_pool_size": 2, "db_max_overflow": 0, "db_pool_timeout": 3}


def _small_pool_settings(db: ScratchDatabase) -> Settings:
    # The SQLite engine takes no pool settings (see app.db.engine); it must behave the same with its defaults.
    return make_settings(db.url, **(SMALL_POOL if db.backend == "postgresql" else {}))


async def test_requests_failing_after_touching_the_database_return_their_connections(
    fresh_db: ScratchDatabase,
) -> None:
    # Sign-in throttling off the way (limits past the 20 failures below): what is counted here is connections.
    settings = _small_pool_settings(fresh_db).model_copy(
        update={"login_max_failures_per_account": 100, "login_max_failures_per_address": 100})
    async with serve(settings) as (app, client):
        pool = app.state.engine.pool
        if fresh_db.backend == "postgresql":
            assert pool.size() == 2
        await create_user(app.state.sessionmaker, settings, "alive@example.test")
        await create_user(app.state.sessionmaker, settings, "gone@example.test")
        stale = await bearer(client, "gone@example.test")
        async with app.state.sessionmaker() as session:
            await AuthService(session, settings).set_active("gone@example.test", False)
            await session.commit()

        # Wrong passwords one at a time: each holds a connection across an argon2 check, and the point here is
        # leaks, not throughput.
        for _ in range(20):
            assert_unauthenticated(await login(client, "alive@example.test", "Wrong-Pass-1"), "invalid-credentials")
        for _ in range(4):
            refused = await asyncio.gather(
                *(client.get(ME, headers=stale) for _ in range(10)),
                *(client.post("/api/v1/auth/token", data={"username": "alive@example.test"}) for _ in range(10)),
            )
            for response in refused[:10]:
                assert_unauthenticated(response)
            for response in refused[10:]:
                assert_problem(response, 422, "validation-error")
        assert pool.checkedout() == 0

        # Read endpoints failing after the token lookup: a missing job (404), a foreign team filter (403), a limit
        # out of range (422).
        headers = await bearer(client, "alive@example.test")
        for _ in range(4):
            refused = await asyncio.gather(
                *(client.get("/api/v1/jobs/does-not-exist", headers=headers) for _ in range(10)),
                *(client.get("/api/v1/jobs", params={"team": "someone-else"}, headers=headers) for _ in range(10)),
                *(client.get("/api/v1/jobs", params={"limit": 0}, headers=headers) for _ in range(10)),
            )
            assert [r.status_code for r in refused] == [404] * 10 + [403] * 10 + [422] * 10
        assert pool.checkedout() == 0

        responses = await asyncio.gather(*(client.get(ME, headers=headers) for _ in range(20)),
                                         *(client.get("/api/v1/jobs?limit=5", headers=headers) for _ in range(20)))

        assert [r.status_code for r in responses] == [200] * 40
        assert pool.checkedout() == 0


async def test_requests_cancelled_mid_flight_return_their_connections(fresh_db: ScratchDatabase) -> None:
    """A client that hangs up cancels the request's task wherever it is, including inside a query."""
    settings = _small_pool_settings(fresh_db)
    async with serve(settings) as (app, client):
        pool = app.state.engine.pool
        await create_user(app.state.sessionmaker, settings, "alive@example.test")
        headers = await bearer(client, "alive@example.test")

        for _ in range(3):
            tasks = [asyncio.create_task(client.get(ME, headers=headers)) for _ in range(20)]
            # Until some request holds a connection: bounded, and yielding long enough each turn for aiosqlite's
            # thread to open one on a loaded machine (10,000 bare yields could pass before it did).
            for _ in range(20_000):
                await asyncio.sleep(0.0005)
                if pool.checkedout():
                    break
            else:
                pytest.fail("no request reached the database")
            for task in tasks:
                task.cancel()
            outcomes = await asyncio.gather(*tasks, return_exceptions=True)
            assert any(isinstance(o, asyncio.CancelledError) for o in outcomes)

        responses = await asyncio.gather(*(client.get(ME, headers=headers) for _ in range(20)))

        assert [r.status_code for r in responses] == [200] * 20
        assert pool.checkedout() == 0


async def _terminate_app_connections(db: ScratchDatabase) -> int:
    """Kill the app's server processes on `db`, as a restart or a failover would; returns how many."""
    dsn = make_url(db.url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        # The 5 s argument makes each call wait until the process is gone, so the app cannot win a race.
        return await conn.fetchval(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
            "WHERE datname = $1 AND application_name = 'jobcost' AND pid <> pg_backend_pid()",
            db.name,
        )
    finally:
        await conn.close()


@pytest.mark.pg_only
async def test_connections_killed_by_the_server_are_replaced_transparently(
    backend: str, fresh_db: ScratchDatabase
) -> None:
    settings = make_settings(fresh_db.url, **SMALL_POOL)
    async with serve(settings) as (app, client):
        await create_user(app.state.sessionmaker, settings, "alive@example.test")
        headers = await bearer(client, "alive@example.test")
        warm = await asyncio.gather(*(client.get(ME, headers=headers) for _ in range(4)))
        assert [r.status_code for r in warm] == [200] * 4
        assert app.state.engine.pool.checkedin() == 2

        assert await _terminate_app_connections(fresh_db) == 2

        after = [await client.get(ME, headers=headers) for _ in range(5)]
        assert [r.status_code for r in after] == [200] * 5, [r.text for r in after]
        assert (await client.get("/health/ready")).status_code == 200
        assert app.state.engine.pool.checkedout() == 0
