"""Fixtures shared by the whole suite.

Every database test runs on both backends (`backend` is parametrised `sqlite` and `postgresql`). The schema is
built by the Alembic migrations, once per backend per session; each test then runs inside a transaction that is
rolled back at its end (the app's own session dependency commits a SAVEPOINT). Tests that need committed data or
real concurrency ask for `fresh_db` (a database of their own) instead.

PostgreSQL comes from JOBCOST_TEST_PG_URL (default postgres@127.0.0.1:5432/test). When it does not answer, its
tests are skipped, unless REQUIRE_PG=1 (as in CI), which makes them fail.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Environment, Settings
from app.db.engine import create_engine
from app.db.models import Role
from app.main import create_app
from tests.databases import BACKENDS, REQUIRE_PG, ScratchDatabase, pg_unreachable_reason
from tests.factories import bearer, create_user

TEST_SECRET = "test-secret-key-that-is-long-enough-for-hs256-0123456789"


def pytest_report_header(config: pytest.Config) -> str:
    reason = pg_unreachable_reason()
    state = "reachable" if reason is None else reason
    return f"jobcost backends: {', '.join(BACKENDS)}; PostgreSQL {state}; REQUIRE_PG={int(REQUIRE_PG)}"


@pytest.fixture(scope="session")
def _pg_available() -> bool:
    reason = pg_unreachable_reason()
    if reason is None:
        return True
    if REQUIRE_PG:
        pytest.fail(f"REQUIRE_PG=1 but {reason}", pytrace=False)
    return False


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest, _pg_available: bool) -> str:
    """`sqlite` or `postgresql`; tests marked `pg_only` skip the SQLite run."""
    name = request.param
    if name == "postgresql" and not _pg_available:
        pytest.skip("PostgreSQL unreachable (set REQUIRE_PG=1 to make this a failure)")
    if name == "sqlite" and request.node.get_closest_marker("pg_only"):
        pytest.skip("PostgreSQL-only test")
    return name


@pytest.fixture(autouse=True)
def _pg_only(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("pg_only") and "backend" in request.fixturenames:
        if request.getfixturevalue("backend") == "sqlite":
            pytest.skip("PostgreSQL-only test")


@pytest.fixture(scope="session")
def migrated_db(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScratchDatabase]:
    """The session's shared, migrated scratch database for `backend`."""
    db = ScratchDatabase(backend, tmp_path_factory.mktemp("db")).create()
    yield db
    db.drop()


@pytest.fixture
def fresh_db(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScratchDatabase]:
    """A migrated database of this test's own, for committed data and concurrency."""
    db = ScratchDatabase(backend, tmp_path_factory.mktemp("fresh")).create()
    yield db
    db.drop()


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {"env": Environment.test, "database_url": database_url, "secret_key": TEST_SECRET}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(migrated_db: ScratchDatabase) -> Settings:
    return make_settings(migrated_db.url)


@pytest.fixture
async def sessionmaker(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions joined to one outer transaction that is rolled back when the test ends. A session's commit
    releases a SAVEPOINT, so the code under test commits as usual and nothing outlives the test."""
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            outer = await connection.begin()
            yield async_sessionmaker(bind=connection, expire_on_commit=False, autoflush=False,
                                     join_transaction_mode="create_savepoint")
            await outer.rollback()
    finally:
        await engine.dispose()


@pytest.fixture
async def session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as s:
        yield s


@pytest.fixture
def app(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]):  # noqa: ANN201
    """The real application with its session factory bound to the test's transaction (no lifespan)."""
    application = create_app(settings)
    application.state.sessionmaker = sessionmaker
    return application


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # noqa: ANN001
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def admin_headers(client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession],
                        settings: Settings) -> dict[str, str]:
    """`Authorization` of an admin signed in through the real login endpoint."""
    await create_user(sessionmaker, settings, "root@example.test", role=Role.admin)
    return await bearer(client, "root@example.test")


@pytest.fixture
async def member_headers(client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession],
                         settings: Settings) -> dict[str, str]:
    """`Authorization` of a member of team "vision", signed in through the real login endpoint."""
    await create_user(sessionmaker, settings, "member@example.test", role=Role.member, teams=["vision"])
    return await bearer(client, "member@example.test")

