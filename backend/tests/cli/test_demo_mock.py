"""`jobcost demo` loads the 30 bundled mock jobs; loading them again changes nothing."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.models import CostSnapshot, Job
from tests.cli.helpers import invoke, line_with, stored_team_names, with_connection
from tests.databases import ScratchDatabase

MOCK_FILE = Path(__file__).resolve().parents[2] / "app" / "data" / "mock_jobs.json"


def _mock_job_ids() -> list[str]:
    return sorted(record["job_id"] for record in json.loads(MOCK_FILE.read_text(encoding="utf-8"))["jobs"])


def _stored_jobs(url: str) -> dict[str, tuple[datetime, datetime, Decimal | None]]:
    """job_id -> (created_at, updated_at, cost), read straight from the table."""

    async def work(connection: AsyncConnection) -> dict[str, tuple[datetime, datetime, Decimal | None]]:
        rows = await connection.execute(sa.select(Job.job_id, Job.created_at, Job.updated_at, Job.cost))
        return {job_id: (created_at, updated_at, cost) for job_id, created_at, updated_at, cost in rows}

    return with_connection(url, work)


def _snapshot_rows(url: str) -> list[tuple[object, ...]]:
    async def work(connection: AsyncConnection) -> list[tuple[object, ...]]:
        rows = await connection.execute(
            sa.select(CostSnapshot.job_pk, CostSnapshot.day, CostSnapshot.run_ms, CostSnapshot.gpu_us,
                      CostSnapshot.cost).order_by(CostSnapshot.job_pk, CostSnapshot.day))
        return [tuple(row) for row in rows]

    return with_connection(url, work)


def test_demo_loads_the_mock_jobs_once(empty_db: ScratchDatabase) -> None:
    expected_ids = _mock_job_ids()
    assert len(expected_ids) == 30 and len(set(expected_ids)) == 30

    result = invoke("demo", "--database-url", empty_db.url)

    assert result.exit_code == 0, result.output
    line = line_with(result.stdout, "mock jobs:")
    assert "mock jobs: 30 received, 30 created" in line, line
    assert "0 updated" in line and "0 unchanged" in line, line
    stored = _stored_jobs(empty_db.url)
    assert sorted(stored) == expected_ids
    assert stored_team_names(empty_db.url) == ["Computer Vision", "ML Platform", "NLP Research"]
    snapshots = _snapshot_rows(empty_db.url)
    assert snapshots

    again = invoke("demo", "--database-url", empty_db.url)

    assert again.exit_code == 0, again.output
    line = line_with(again.stdout, "mock jobs:")
    assert "30 received" in line and "0 created" in line and "0 updated" in line and "30 unchanged" in line, line
    # Unchanged means nothing written: not even updated_at, and the same snapshots.
    assert _stored_jobs(empty_db.url) == stored
    assert _snapshot_rows(empty_db.url) == snapshots
