"""Engines and the integrity rules the schema enforces itself, identically on both databases: connection
settings, foreign keys, CHECKed enums, unique keys, cascades and SAVEPOINTs."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Select, Uuid, bindparam, delete, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.db.engine import create_engine
from app.db.models import CostSnapshot, Job, Team
from tests.conftest import make_settings
from tests.databases import ScratchDatabase
from tests.db import builders


async def _pragmas_or_settings(settings: Settings, backend: str) -> dict[str, object]:
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            if backend == "sqlite":
                names = ("foreign_keys", "journal_mode", "busy_timeout", "journal_size_limit")
                return {n: (await connection.exec_driver_sql(f"PRAGMA {n}")).scalar_one() for n in names}
            names = ("TimeZone", "plan_cache_mode", "application_name")
            return {n: (await connection.exec_driver_sql(f"SHOW {n}")).scalar_one() for n in names}
    finally:
        await engine.dispose()


@pytest.mark.parametrize("busy_timeout_ms", [5000, 1234])
async def test_connection_settings(migrated_db: ScratchDatabase, backend: str, busy_timeout_ms: int) -> None:
    settings = make_settings(migrated_db.url, sqlite_busy_timeout_ms=busy_timeout_ms)
    found = await _pragmas_or_settings(settings, backend)
    if backend == "sqlite":
        # Foreign keys are off by default in SQLite, per connection; everything below relies on them.
        assert found == {"foreign_keys": 1, "journal_mode": "wal", "busy_timeout": busy_timeout_ms,
                         "journal_size_limit": 64 * 1024 * 1024}
    else:
        assert found == {"TimeZone": "UTC", "plan_cache_mode": "force_custom_plan", "application_name": "jobcost"}


async def _count(session: AsyncSession, query: Select[Any]) -> int:
    return (await session.execute(query)).scalar_one()


async def test_foreign_key_violation_is_refused(session: AsyncSession) -> None:
    orphan = builders.team("never-saved")
    with pytest.raises(IntegrityError):
        async with session.begin_nested():
            session.add(builders.job("orphan", orphan))
            await session.flush()
    assert await _count(session, select(func.count()).select_from(Job).where(Job.job_id == "orphan")) == 0


@pytest.mark.parametrize(
    ("status", "cost_source"),
    [pytest.param("bogus", "billed", id="status"), pytest.param("succeeded", "free", id="cost_source"),
     pytest.param("SUCCEEDED", "billed", id="status-case")],
)
async def test_check_constraint_refuses_values_outside_the_enum(session: AsyncSession, owner: Team, status: str,
                                                                cost_source: str) -> None:
    # Raw SQL on purpose: the ORM's Enum would refuse these before the database is asked.
    statement = text(
        "INSERT INTO jobs (id, job_id, team_id, status, cost_source, content_hash) "
        "VALUES (:id, 'bad-enum', :team_id, :status, :cost_source, 'h')"
    ).bindparams(bindparam("id", type_=Uuid), bindparam("team_id", type_=Uuid))
    with pytest.raises(IntegrityError):
        async with session.begin_nested():
            await session.execute(statement, {"id": uuid.uuid4(), "team_id": owner.id, "status": status,
                                              "cost_source": cost_source})
    assert await _count(session, select(func.count()).select_from(Job).where(Job.job_id == "bad-enum")) == 0


async def test_job_id_is_unique(session: AsyncSession, owner: Team) -> None:
    session.add(builders.job("slurm-a:12345_7", owner))
    await session.flush()
    with pytest.raises(IntegrityError):
        async with session.begin_nested():
            session.add(builders.job("slurm-a:12345_7", owner))
            await session.flush()
    assert await _count(session, select(func.count()).select_from(Job).where(Job.job_id == "slurm-a:12345_7")) == 1


async def test_team_name_key_is_unique(session: AsyncSession) -> None:
    session.add(builders.team("NLP"))
    await session.flush()
    with pytest.raises(IntegrityError):
        async with session.begin_nested():
            # A different spelling with the same key: the database, not only the service, keeps them one team.
            session.add(builders.team(" nlp "))
            await session.flush()
    names = (await session.execute(select(Team.name).where(Team.name_key == "nlp"))).scalars().all()
    assert names == ["NLP"]


async def _snapshots(session: AsyncSession, job_pk: uuid.UUID) -> int:
    return await _count(session, select(func.count()).select_from(CostSnapshot).where(CostSnapshot.job_pk == job_pk))


async def test_deleting_a_job_deletes_its_snapshots(session: AsyncSession, owner: Team) -> None:
    doomed, kept = builders.job("doomed", owner), builders.job("kept", owner)
    session.add_all([doomed, kept])
    await session.flush()
    session.add_all([
        CostSnapshot(job_pk=doomed.id, day=date(2026, 1, 3), run_ms=7_200_000, gpu_us=0, cost=Decimal("1.5")),
        CostSnapshot(job_pk=doomed.id, day=date(2026, 1, 4), run_ms=7_200_000, gpu_us=0, cost=Decimal("1.5")),
        CostSnapshot(job_pk=kept.id, day=date(2026, 1, 4), run_ms=3_600_000, gpu_us=0, cost=Decimal("2")),
    ])
    await session.flush()
    session.expunge_all()

    # A Core DELETE, as an admin endpoint would issue: the ORM has no relationship to cascade through, so only
    # the database's ON DELETE CASCADE can remove the snapshots.
    await session.execute(delete(Job).where(Job.job_id == "doomed"))
    assert await _snapshots(session, doomed.id) == 0
    assert await _snapshots(session, kept.id) == 1


async def test_deleting_a_team_with_jobs_is_refused(session: AsyncSession, owner: Team) -> None:
    session.add(builders.job("keeps-team", owner))
    await session.flush()
    with pytest.raises(IntegrityError):
        async with session.begin_nested():
            await session.execute(delete(Team).where(Team.id == owner.id))
    assert await _count(session, select(func.count()).select_from(Team).where(Team.id == owner.id)) == 1


async def test_savepoints_roll_back_alone_and_keep_the_outer_work(
    fresh_sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with fresh_sessionmaker() as session:
        session.add(builders.team("outer"))
        await session.flush()

        nested = await session.begin_nested()
        session.add(builders.team("rolled-back"))
        await session.flush()
        await nested.rollback()

        async with session.begin_nested():
            session.add(builders.team("released"))

        # A failing statement inside a savepoint (one bad record of a batch) must not doom the transaction.
        with pytest.raises(IntegrityError):
            async with session.begin_nested():
                session.add(builders.team("OUTER"))
                await session.flush()

        await session.commit()

    # Committed data read on another connection: the outer work and the released savepoint, nothing else.
    async with fresh_sessionmaker() as reader:
        names = (await reader.execute(select(Team.name).order_by(Team.name))).scalars().all()
    assert names == ["outer", "released"]


async def test_rollback_discards_flushed_work_and_released_savepoints(
    fresh_sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    # On SQLite this fails if the driver, not SQLAlchemy, decides when BEGIN is sent: the flushed INSERT would
    # autocommit before the first SAVEPOINT and survive the rollback.
    async with fresh_sessionmaker() as session:
        session.add(builders.team("flushed"))
        await session.flush()
        async with session.begin_nested():
            session.add(builders.team("released"))
        await session.rollback()

    async with fresh_sessionmaker() as reader:
        assert (await reader.execute(select(func.count()).select_from(Team))).scalar_one() == 0
