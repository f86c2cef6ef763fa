"""Concurrent batches that share jobs and change their team, model and times (the attack that found F1/F2 of
issue 5): on committed databases of the test's own, both backends. Every batch must succeed (no deadlock, no
503), every stored job that ran must keep snapshots summing to its cost, and the daily rollups must equal the
snapshots afterwards."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from sqlalchemy import text

from app.db.engine import begin_write, create_engine, create_sessionmaker
from app.ingestion.service import JobIngestionService
from tests.analytics.test_rollups import expected_cells, random_job, snapshot_rows, stored_cells
from tests.conftest import make_settings
from tests.databases import ScratchDatabase

SENDERS, ROUNDS, SHARED_IDS = 8, 8, 30


async def test_overlapping_batches_keep_every_job_and_rollup_whole(fresh_db: ScratchDatabase) -> None:
    engine = create_engine(make_settings(fresh_db.url), pool_size=SENDERS + 2, max_overflow=0) \
        if not fresh_db.url.startswith("sqlite") else create_engine(
            # Eight writers queue for SQLite's one write lock; its busy handler is not first-come first-served, so
            # on a loaded machine one can wait past the default 5 s ("database is locked"). This test is about
            # what the merges leave behind, not how long a writer waits: give the queue room.
            make_settings(fresh_db.url, sqlite_busy_timeout_ms=60_000))
    sessionmaker = create_sessionmaker(engine)

    async def sender(number: int) -> list[Any]:
        rng = random.Random(number)
        reports = []
        for round_ in range(ROUNDS):
            # Shared ids in a different order each time, each with a new record (team, model, times, cost).
            ids = rng.sample(range(SHARED_IDS), 25) + [1000 * (number + 1) + round_]
            batch = [random_job(rng, f"c-{n}") for n in ids]
            async with sessionmaker() as session:
                await begin_write(session)
                reports.append(await JobIngestionService(session).ingest(batch))
                await session.commit()
            if round_ == 1:
                async with sessionmaker() as session:
                    await begin_write(session)
                    await JobIngestionService(session).delete_job(f"c-{1000 * (number + 1)}")
                    await session.commit()
        return reports

    try:
        results = await asyncio.gather(*(sender(n) for n in range(SENDERS)))
        assert all(report.failed == 0 for reports in results for report in reports)
        async with sessionmaker() as session:
            rows = await snapshot_rows(session)
            assert await stored_cells(session) == expected_cells(rows)
            # Every job that ran has snapshots, and they sum to its cost and GPU time.
            broken = (await session.execute(text(
                "SELECT j.job_id FROM jobs j LEFT JOIN cost_snapshots s ON s.job_pk = j.id "
                "WHERE j.started_at IS NOT NULL GROUP BY j.id, j.job_id, j.gpu_us, j.cost_micros "
                "HAVING COUNT(s.day) = 0 OR SUM(s.gpu_us) <> j.gpu_us "
                "OR COALESCE(SUM(s.cost_micros), -1) <> COALESCE(j.cost_micros, -1)"))).all()
            assert broken == []
    finally:
        await engine.dispose()


@pytest.mark.pg_only
async def test_a_batch_blocked_mid_merge_cannot_undo_a_later_one(fresh_db: ScratchDatabase) -> None:
    # A deterministic race: batch 1 (x unchanged, y changed, f new) is held inside its merge by a
    # lock on the rollup cell f needs; batch 2 changes x meanwhile. Before writers took turns, batch 2
    # committed, then batch 1 deleted x's new snapshots (x re-read as "changed") and left x with none.
    engine = create_engine(make_settings(fresh_db.url), pool_size=4, max_overflow=0)
    sessionmaker = create_sessionmaker(engine)

    def record(job_id: str, team: str, day: str) -> dict[str, Any]:
        return {"job_id": job_id, "team": team, "status": "succeeded", "cost": "10", "started_at": f"{day}T08:00:00Z",
                "ended_at": f"{day}T10:00:00Z"}

    async def ingest(batch: list[dict[str, Any]]) -> Any:
        async with sessionmaker() as session:
            await begin_write(session)
            report = await JobIngestionService(session).ingest(batch)
            await session.commit()
            return report

    try:
        await ingest([record("x", "a", "2026-05-01"), record("y", "a", "2026-05-02"), record("g", "f", "2026-05-10"),
                      record("z", "c", "2026-05-20")])  # team c exists before the race
        async with sessionmaker() as blocker:
            await blocker.execute(text("SELECT 1 FROM daily_team_costs c JOIN teams t ON t.id = c.team_id "
                                       "WHERE t.name = 'f' FOR UPDATE OF c"))
            first = asyncio.create_task(ingest([record("x", "a", "2026-05-01"), record("y", "b", "2026-05-02"),
                                                record("f", "f", "2026-05-10")]))
            await asyncio.sleep(0.5)
            second = asyncio.create_task(ingest([record("x", "c", "2026-05-03")]))
            await asyncio.sleep(0.5)
            await blocker.rollback()
        reports = await asyncio.gather(first, second)
        assert [r.failed for r in reports] == [0, 0]
        async with sessionmaker() as session:
            rows = await snapshot_rows(session)
            assert await stored_cells(session) == expected_cells(rows)
            x_days = (await session.execute(text(
                "SELECT s.day FROM cost_snapshots s JOIN jobs j ON j.id = s.job_pk WHERE j.job_id = 'x'"))).all()
            assert len(x_days) == 1
    finally:
        await engine.dispose()
