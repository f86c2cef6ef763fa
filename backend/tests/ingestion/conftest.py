"""Helpers for the ingestion tests: posting batches, test-only prices, job records (the admin's and member's
headers are fixtures of tests/conftest.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models import GpuPrice

INGEST = "/api/v1/admin/ingest/jobs"
# A provider no real catalog has, so tests set every price they rely on themselves.
TEST_PROVIDER = "testcloud"


async def post_jobs(client: httpx.AsyncClient, headers: dict[str, str], jobs: list[Any]) -> httpx.Response:
    return await client.post(INGEST, json={"jobs": jobs}, headers=headers)


async def ingest_ok(client: httpx.AsyncClient, headers: dict[str, str], jobs: list[Any]) -> dict[str, Any]:
    """Post `jobs` and return the 200 report (checking that its counts add up)."""
    response = await post_jobs(client, headers, jobs)
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["created"] + report["updated"] + report["unchanged"] + report["superseded"]
            + report["failed"]) == report["received"], report
    return report


async def add_price(sessionmaker: async_sessionmaker[AsyncSession], gpu_type: str, usd_per_gpu_hour: str,
                    valid_from: datetime = datetime(2020, 1, 1, tzinfo=UTC), provider: str = TEST_PROVIDER) -> None:
    """Store one rate (committed to the test's transaction, so the app sees it)."""
    async with sessionmaker() as session:
        session.add(GpuPrice(provider=provider, gpu_type=gpu_type, usd_per_gpu_hour=Decimal(usd_per_gpu_hour),
                             valid_from=valid_from, source="https://example.test/prices",
                             source_date=date(2026, 1, 1)))
        await session.commit()


def job(job_id: str, **fields: Any) -> dict[str, Any]:
    """A valid finished job record (`B` of known-faults.md, on the test provider), with `fields` replaced;
    a field given as None is left out."""
    record: dict[str, Any] = {
        "job_id": job_id, "team": "vision", "model_name": "resnet50-ft", "gpu_type": "H100", "gpu_count": 8,
        "provider": TEST_PROVIDER, "status": "COMPLETED",
        "started_at": "2026-01-14T08:00:00Z", "ended_at": "2026-01-14T12:00:00Z", "cost": "64.00",
    }
    record.update(fields)
    return {k: v for k, v in record.items() if v is not None}
