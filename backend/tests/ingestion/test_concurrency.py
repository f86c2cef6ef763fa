"""Concurrent ingests of the same jobs (F02), on committed databases of the test's own, both backends.

Two batches over the same 300 jobs in opposite orders, each in its own transaction, must neither deadlock nor hit
a unique violation nor "database is locked"; 20 concurrent HTTP ingests of one job must all succeed with exactly
one creation. Whatever wins, every job is stored once, with one submitted cost whose snapshots sum to it.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.db.engine import WRITER_OPTION, begin_write, create_engine, create_sessionmaker
from app.db.models import CostSnapshot, Job, Role, Team
from app.ingestion.schemas import IngestReport
from app.ingestion.service import JobIngestionService
from tests.api.live import serve
from tests.conftest import make_settings
from tests.databases import ScratchDatabase, engine_for
from tests.factories import bearer, create_user
from tests.ingestion.conftest import INGEST, job

N_JOBS = 300


async def _ingest_and_commit(sessionmaker: async_sessionmaker[AsyncSession], records: Sequence[dict[str, Any]],
                             ready: asyncio.Barrier) -> IngestReport:
    async with sessionmaker() as session:
        # Both sessions exist before either starts its transaction, so the two writers really overlap.
        await ready.wait()
        await begin_write(session)
        report = await JobIngestionService(session).ingest(records)
        await session.commit()
        return report


async def _stored(engine: AsyncEngine) -> tuple[dict[str, tuple[Decimal | None, Decimal | None]],
                                                 dict[str, list[Decimal | None]]]:
    """Committed jobs by job_id -> (cost, billed_cost), and each job's snapshot costs."""
    async with create_sessionmaker(engine)() as session:
        jobs = {row.job_id: (row.cost, row.billed_cost)
                for row in await session.execute(select(Job.job_id, Job.cost, Job.billed_cost))}
        snapshots: dict[str, list[Decimal | None]] = defaultdict(list)
        for job_id, cost in await session.execute(
                select(Job.job_id, CostSnapshot.cost).join(Job, Job.id == CostSnapshot.job_pk)):
            snapshots[job_id].append(cost)
        return jobs, dict(snapshots)


async def test_two_batches_over_the_same_jobs_in_opposite_orders_both_succeed(fresh_db: ScratchDatabase) -> None:
    ids = [f"conc-{i:03d}" for i in range(N_JOBS)]
    # Different costs per batch and per job, so a stored cost says which batch wrote that job.
    cost_a = {job_id: Decimal(f"{i}.25") for i, job_id in enumerate(ids)}
    cost_b = {job_id: Decimal(f"{i}.75") for i, job_id in enumerate(ids)}
    ascending = [job(job_id, cost=f"{cost_a[job_id]}") for job_id in ids]
    descending = [job(job_id, cost=f"{cost_b[job_id]}") for job_id in reversed(ids)]

    first = create_engine(make_settings(fresh_db.url))
    second = create_engine(make_settings(fresh_db.url))
    try:
        ready = asyncio.Barrier(2)
        report_a, report_b = await asyncio.wait_for(asyncio.gather(
            _ingest_and_commit(create_sessionmaker(first), ascending, ready),
            _ingest_and_commit(create_sessionmaker(second), descending, ready),
        ), timeout=120)
    finally:
        await first.dispose()
        await second.dispose()

    for report in (report_a, report_b):
        assert report.received == N_JOBS
        assert (report.failed, report.superseded, report.errors) == (0, 0, [])
        # Costs differ between the batches, so the later writer updates every job it meets.
        assert report.created + report.updated == N_JOBS, report
        assert report.unchanged == 0, report
    assert report_a.created + report_b.created == N_JOBS
    assert report_a.teams_created + report_b.teams_created == 1

    async with engine_for(fresh_db.url) as engine:
        jobs, snapshots = await _stored(engine)
        async with create_sessionmaker(engine)() as session:
            job_rows = (await session.execute(select(func.count()).select_from(Job))).scalar_one()
            team_names = list((await session.execute(select(Team.name))).scalars())

    assert job_rows == N_JOBS
    assert sorted(jobs) == ids
    assert team_names == ["vision"]
    for job_id in ids:
        cost, billed = jobs[job_id]
        assert cost in (cost_a[job_id], cost_b[job_id]), (job_id, cost)
        assert billed == cost, (job_id, cost, billed)  # one record's fields, not a mix of two
        # 08:00-12:00 on one UTC day: one snapshot carrying the whole cost.
        assert snapshots[job_id] == [cost], (job_id, snapshots.get(job_id))


async def test_f02_twenty_concurrent_http_ingests_of_one_job(fresh_db: ScratchDatabase) -> None:
    settings = make_settings(fresh_db.url)
    async with engine_for(fresh_db.url) as engine:
        await create_user(create_sessionmaker(engine), settings, "racer@example.test", role=Role.admin)

    submitted = {Decimal(f"{n}.00") for n in range(1, 21)}
    async with serve(settings) as (_, client):
        headers = await bearer(client, "racer@example.test")
        responses = await asyncio.wait_for(asyncio.gather(*(
            client.post(INGEST, json={"jobs": [job("race-42", cost=f"{n}.00")]}, headers=headers)
            for n in range(1, 21))), timeout=120)

    assert [r.status_code for r in responses] == [200] * 20, [r.text for r in responses if r.status_code != 200]
    reports = [r.json() for r in responses]
    for report in reports:
        assert (report["received"], report["failed"], report["superseded"]) == (1, 0, 0), report
        assert report["created"] + report["updated"] + report["unchanged"] == 1, report
    assert sum(report["created"] for report in reports) == 1, reports
    assert sum(report["teams_created"] for report in reports) == 1, reports

    async with engine_for(fresh_db.url) as engine, create_sessionmaker(engine)() as session:
        rows = (await session.execute(
            select(Job.id, Job.cost, Job.billed_cost).where(Job.job_id == "race-42"))).all()
        assert len(rows) == 1, rows
        pk, cost, billed = rows[0]
        snapshot_costs = list((await session.execute(
            select(CostSnapshot.cost).where(CostSnapshot.job_pk == pk))).scalars())

    assert cost in submitted, cost
    assert billed == cost
    # A same-day job (08:00-12:00Z): one snapshot, holding the whole stored cost.
    assert snapshot_costs == [cost]


async def test_a_write_that_waits_past_the_busy_timeout_is_busy_not_down(
        backend: str, fresh_db: ScratchDatabase) -> None:
    # SQLite only: another writer holds the write lock for longer than the request may wait. The answer says the
    # database is busy (503 database-busy, Retry-After), not unreachable; meanwhile it is still ready.
    if backend != "sqlite":
        return
    settings = make_settings(fresh_db.url, sqlite_busy_timeout_ms=200)
    async with engine_for(settings) as engine:
        await create_user(create_sessionmaker(engine), settings, "locker@example.test", role=Role.admin)
        async with serve(settings) as (_, client), engine.connect() as holder:
            headers = await bearer(client, "locker@example.test")
            await holder.execution_options(**{WRITER_OPTION: True})
            await holder.begin()  # BEGIN IMMEDIATE: holds the write lock until the rollback below
            try:
                response = await client.post(INGEST, json={"jobs": [job("busy-1")]}, headers=headers)
                ready = await client.get("/health/ready")
            finally:
                await holder.rollback()
            assert response.status_code == 503, response.text
            assert response.json()["type"].endswith("/database-busy")
            assert response.headers["retry-after"] == "10"
            assert ready.status_code == 200
            again = await client.post(INGEST, json={"jobs": [job("busy-1")]}, headers=headers)
            assert again.status_code == 200 and again.json()["created"] == 1, again.text


async def test_deletes_racing_ingests_of_the_same_job_never_fail(fresh_db: ScratchDatabase) -> None:
    # A delete used to remove the snapshots before the job row while an ingest locks the job row before the
    # snapshots: PostgreSQL found a deadlock and both requests ended in a 500. Now both take the job row first.
    settings = make_settings(fresh_db.url)
    async with engine_for(settings) as engine:
        await create_user(create_sessionmaker(engine), settings, "racer@example.test", role=Role.admin)
        async with serve(settings) as (_, client):
            headers = await bearer(client, "racer@example.test")
            statuses: list[int] = []
            for round_ in range(8):
                job_id = f"race/{round_}"
                calls = [client.post(INGEST, json={"jobs": [job(job_id, cost=f"{n}.00",
                                                                ended_at="2026-01-15T02:00:00Z")]},
                                     headers=headers) for n in range(1, 5)]
                calls += [client.delete(f"/api/v1/admin/jobs/{job_id}", headers=headers) for _ in range(2)]
                statuses += [r.status_code for r in await asyncio.gather(*calls)]
        assert set(statuses) <= {200, 204, 404}, statuses
        async with engine.connect() as conn:
            orphans = await conn.scalar(select(func.count()).select_from(CostSnapshot).outerjoin(
                Job, Job.id == CostSnapshot.job_pk).where(Job.id.is_(None)))
            sums = (await conn.execute(
                select(Job.job_id, Job.cost, func.sum(CostSnapshot.cost))
                .join(CostSnapshot, CostSnapshot.job_pk == Job.id).group_by(Job.job_id, Job.cost))).all()
        assert orphans == 0
        assert all(cost == total for _, cost, total in sums), sums
