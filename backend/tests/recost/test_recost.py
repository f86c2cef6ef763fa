"""Recosting after a rate change, on both databases: exactly the jobs in scope change, to figures computed here by
hand; billed jobs never; the report's figures; a second run changes nothing; chunk size changes nothing; the
daily rollups equal the snapshots after every change."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.pricing.scopes import RecostScope
from app.recost.service import Recoster
from tests.analytics.test_rollups import assert_rollups_match
from tests.ingestion.conftest import TEST_PROVIDER, add_price, job
from tests.recost.conftest import ingest, stored

ONPREM = "onprem"
V100 = "V100"


def onprem(job_id: str, **fields: object) -> dict[str, object]:
    """An unpriced on-prem V100 job (no billed cost): 2 GPUs from `started_at` to `ended_at`."""
    return job(job_id, **{"provider": ONPREM, "gpu_type": V100, "gpu_count": 2, "cost": None, **fields})


@pytest.fixture
async def history(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await ingest(sessionmaker, [
        # 2019: 2 GPUs × 5 h
        onprem("old-1", started_at="2019-06-01T10:00:00Z", ended_at="2019-06-01T15:00:00Z"),
        # 2021: 2 GPUs × 3 h, across midnight (1 h on the 1st, 2 h on the 2nd)
        onprem("new-1", started_at="2021-03-01T23:00:00Z", ended_at="2021-03-02T02:00:00Z"),
        # billed: never changes
        job("billed-1", provider=ONPREM, gpu_type=V100, started_at="2019-06-01T10:00:00Z",
            ended_at="2019-06-01T12:00:00Z", cost="12.50"),
        # another GPU type, another provider: out of scope
        onprem("t4-1", gpu_type="T4", started_at="2019-06-01T10:00:00Z", ended_at="2019-06-01T12:00:00Z"),
        job("cloud-1", gpu_type=V100, gpu_count=1, cost=None, started_at="2019-06-01T10:00:00Z",
            ended_at="2019-06-01T12:00:00Z"),
        # queued: never ran
        {"job_id": "queued-1", "team": "vision", "provider": ONPREM, "gpu_type": V100, "status": "queued"},
    ])


async def test_a_new_rate_prices_exactly_the_jobs_in_scope(sessionmaker: async_sessionmaker[AsyncSession],
                                                           history: None) -> None:
    before = await stored(sessionmaker)
    assert before["old-1"]["source"] == "unpriced" and before["cloud-1"]["source"] == "unpriced"
    await add_price(sessionmaker, V100, "2.10", valid_from=datetime(2019, 1, 1, tzinfo=UTC), provider=ONPREM)

    report = await Recoster(sessionmaker).run([RecostScope(ONPREM, V100, datetime(2019, 1, 1, tzinfo=UTC))])

    after = await stored(sessionmaker)
    # 2 GPUs × 5 h × $2.10 = $21.00; 2 × 3 h × $2.10 = $12.60, split 1 h : 2 h over its two days.
    assert after["old-1"]["cost"] == 21_000_000 and after["old-1"]["source"] == "estimated"
    assert after["old-1"]["days"] == {"2019-06-01": 21_000_000}
    assert after["new-1"]["cost"] == 12_600_000
    assert after["new-1"]["days"] == {"2021-03-01": 4_200_000, "2021-03-02": 8_400_000}
    # A job that never ran is priced at 0 once a rate exists for its pair.
    assert after["queued-1"]["cost"] == 0 and after["queued-1"]["source"] == "estimated"
    for untouched in ("billed-1", "t4-1", "cloud-1"):
        assert after[untouched] == before[untouched], untouched
    assert (report.jobs_recosted, report.jobs_read) == (3, 3)
    assert report.cost_before == Decimal(0) and report.cost_after == Decimal("33.6")
    assert report.unpriced_gpu_hours_before == Decimal(16) and report.unpriced_gpu_hours_after == Decimal(0)
    await assert_rollups_match(sessionmaker)


async def test_a_second_run_changes_nothing_and_chunks_do_not_matter(
        sessionmaker: async_sessionmaker[AsyncSession], history: None) -> None:
    await add_price(sessionmaker, V100, "2.10", valid_from=datetime(2019, 1, 1, tzinfo=UTC), provider=ONPREM)
    scopes = [RecostScope(ONPREM, V100)]
    first = await Recoster(sessionmaker, chunk_jobs=1).run(scopes)
    assert first.jobs_recosted == 3
    once = await stored(sessionmaker)
    again = await Recoster(sessionmaker, chunk_jobs=2).run(scopes)
    assert again.jobs_recosted == 0 and again.jobs_read == 3
    assert again.cost_before == again.cost_after == Decimal("33.6")
    assert await stored(sessionmaker) == once  # not even updated_at moved
    await assert_rollups_match(sessionmaker)


async def test_a_rate_change_inside_a_run_splits_its_day(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await add_price(sessionmaker, V100, "2.00", valid_from=datetime(2019, 1, 1, tzinfo=UTC), provider=ONPREM)
    await ingest(sessionmaker, [onprem("split-1", started_at="2024-05-01T08:00:00Z",
                                       ended_at="2024-05-01T12:00:00Z")])
    assert (await stored(sessionmaker))["split-1"]["cost"] == 16_000_000  # 2 GPUs × 4 h × $2
    await add_price(sessionmaker, V100, "3.00", valid_from=datetime(2024, 5, 1, 10, tzinfo=UTC), provider=ONPREM)

    report = await Recoster(sessionmaker).run([RecostScope(ONPREM, V100, datetime(2024, 5, 1, 10, tzinfo=UTC))])

    # 2 GPUs × (2 h × $2 + 2 h × $3) = $20
    assert (await stored(sessionmaker))["split-1"]["days"] == {"2024-05-01": 20_000_000}
    assert (report.cost_before, report.cost_after) == (Decimal(16), Decimal(20))
    assert report.unpriced_gpu_hours_before == report.unpriced_gpu_hours_after == Decimal(0)
    await assert_rollups_match(sessionmaker)


async def test_removing_a_rate_restores_the_previous_figures(sessionmaker: async_sessionmaker[AsyncSession],
                                                             history: None) -> None:
    from sqlalchemy import delete

    from app.db.models import GpuPrice

    before = await stored(sessionmaker)
    await add_price(sessionmaker, V100, "2.10", valid_from=datetime(2019, 1, 1, tzinfo=UTC), provider=ONPREM)
    await Recoster(sessionmaker).run([RecostScope(ONPREM, V100)])
    async with sessionmaker() as session:
        await session.execute(delete(GpuPrice).where(GpuPrice.provider == ONPREM))
        await session.commit()

    report = await Recoster(sessionmaker).run([RecostScope(ONPREM, V100)])

    after = await stored(sessionmaker)
    assert report.jobs_recosted == 3 and report.cost_after == Decimal(0)
    assert report.unpriced_gpu_hours_after == Decimal(16)
    assert {k: (v["cost"], v["source"], v["days"]) for k, v in after.items()} == \
        {k: (v["cost"], v["source"], v["days"]) for k, v in before.items()}
    await assert_rollups_match(sessionmaker)


async def test_no_scope_reads_nothing(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    report = await Recoster(sessionmaker).run([])
    assert (report.jobs_read, report.jobs_recosted) == (0, 0)


async def test_catalog_jobs_keep_their_figures(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await add_price(sessionmaker, "H100", "6.00")
    await ingest(sessionmaker, [job("h-1", cost=None)])  # 8 GPUs × 4 h × $6 = $192
    report = await Recoster(sessionmaker).run([RecostScope(TEST_PROVIDER, "H100")])
    assert (report.jobs_read, report.jobs_recosted, report.cost_after) == (1, 0, Decimal(192))
