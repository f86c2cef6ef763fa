"""Ingest running while a rate change is recosted, on committed databases of the test's own, both backends:
nothing is lost, every job ends priced by the card in force once both finish (checked against figures computed
here), billed jobs keep their billed cost, and the daily rollups equal the snapshots."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from app.db.engine import create_engine, create_sessionmaker
from app.pricing.scopes import RecostScope
from app.recost.service import Recoster
from tests.analytics.test_rollups import expected_cells, snapshot_rows, stored_cells
from tests.conftest import make_settings
from tests.databases import ScratchDatabase
from tests.ingestion.conftest import add_price, job
from tests.recost.conftest import ingest

ONPREM, V100 = "onprem", "V100"
STORED, SENDERS, ROUNDS, BATCH = 300, 3, 6, 40


def _record(n: int, version: int) -> dict[str, Any]:
    """Job n: 2 GPUs for (n % 5 + 1 + version) hours from a day of 2025 (billed when n % 10 == 0)."""
    start = datetime(2025, 1 + n % 12, 1 + n % 28, n % 24, tzinfo=UTC)
    end = start + timedelta(hours=n % 5 + 1 + version)
    return job(f"cc-{n:05d}", provider=ONPREM, gpu_type=V100, gpu_count=2, started_at=start.isoformat(),
               ended_at=end.isoformat(), cost="7.00" if n % 10 == 0 else None)


async def test_ingest_during_a_recost_ends_with_every_job_on_the_new_card(fresh_db: ScratchDatabase) -> None:
    # Writers queue for SQLite's one write lock: give the queue room on a loaded machine.
    engine = create_engine(make_settings(fresh_db.url, sqlite_busy_timeout_ms=60_000))
    sessionmaker = create_sessionmaker(engine)
    try:
        await ingest(sessionmaker, [_record(n, 0) for n in range(STORED)])
        sent: dict[int, int] = dict.fromkeys(range(STORED), 0)  # job → the version last sent
        batches_done: list[float] = []
        recost_ran: list[float] = []

        async def batch(number: int, round_: int) -> None:
            # Changed versions of stored jobs, and new jobs.
            changed = [(number * 97 + round_ * 31 + i * 7) % STORED for i in range(BATCH // 2)]
            new = [STORED + number * 1000 + round_ * BATCH + i for i in range(BATCH // 2)]
            version = 1 + (round_ + number) % 3
            records = {n: _record(n, version) for n in changed} | {n: _record(n, 0) for n in new}
            await ingest(sessionmaker, list(records.values()))
            for n in records:
                sent[n] = version if n in changed else 0
            batches_done.append(asyncio.get_running_loop().time())

        async def sender(number: int) -> None:
            for round_ in range(ROUNDS):
                await batch(number, round_)

        async def between_chunks(done: int, _total: int) -> None:
            # SQLite's busy handler is not first come, first served: besides the senders racing for the lock, a
            # batch is sent between some chunks so that ingest surely lands while the recost is under way.
            if done // 25 % 3 == 1:
                await batch(SENDERS, done // 25)

        async def change_rate_and_recost() -> None:
            await asyncio.sleep(0.05)  # senders are under way when the rate arrives
            await add_price(sessionmaker, V100, "2.50", valid_from=datetime(2024, 1, 1, tzinfo=UTC),
                            provider=ONPREM)
            recost_ran.append(asyncio.get_running_loop().time())
            report = await Recoster(sessionmaker, chunk_jobs=25).run([RecostScope(ONPREM, V100)],
                                                                     progress=between_chunks)
            recost_ran.append(asyncio.get_running_loop().time())
            assert report.jobs_recosted > 0

        await asyncio.gather(*(sender(n) for n in range(SENDERS)), change_rate_and_recost())

        # The race happened: batches were written while the recost was running.
        assert any(recost_ran[0] < t < recost_ran[1] for t in batches_done), (recost_ran, batches_done)
        async with sessionmaker() as session:
            stored = {row.job_id: (row.cost_micros, row.cost_source) for row in (await session.execute(text(
                "SELECT job_id, cost_micros, cost_source FROM jobs"))).all()}
            rows = await snapshot_rows(session)
            assert await stored_cells(session) == expected_cells(rows)
        assert len(stored) == len(sent)
        for n, version in sent.items():
            hours = n % 5 + 1 + version
            # Billed: the record's $7.00; otherwise 2 GPUs × hours × $2.50.
            expected = (7_000_000, "billed") if n % 10 == 0 else (2 * hours * 2_500_000, "estimated")
            assert stored[f"cc-{n:05d}"] == expected, n
    finally:
        await engine.dispose()
