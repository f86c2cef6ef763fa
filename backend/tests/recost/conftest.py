"""Helpers of the recost tests: jobs ingested through the service, rates written as rows, stored costs read."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.engine import begin_write
from app.ingestion.service import JobIngestionService


async def ingest(sessionmaker: async_sessionmaker[AsyncSession], records: list[dict[str, Any]]) -> None:
    async with sessionmaker() as session:
        await begin_write(session)
        report = await JobIngestionService(session).ingest(records)
        await session.commit()
    assert report.failed == 0, report.errors


async def stored(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, dict[str, Any]]:
    """job_id → its cost (micro-USD or None), source, updated_at and its snapshots' {day: cost}."""
    async with sessionmaker() as session:
        jobs = (await session.execute(text(
            "SELECT id, job_id, cost_micros, cost_source, updated_at FROM jobs"))).all()
        days = (await session.execute(text("SELECT job_pk, day, cost_micros FROM cost_snapshots"))).all()
    by_pk: dict[str, dict[str, Any]] = {}
    for job_pk, day, cost in days:
        by_pk.setdefault(str(job_pk), {})[str(day)[:10]] = cost
    return {job_id: {"cost": micros, "source": source, "updated_at": updated_at, "days": by_pk.get(str(pk), {})}
            for pk, job_id, micros, source, updated_at in jobs}


def utc(text_: str) -> datetime:
    return datetime.fromisoformat(text_).replace(tzinfo=UTC)
