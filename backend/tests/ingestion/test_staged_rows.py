"""The staged rows as `write_chunk` builds them: tuples in `JOB_ROW_COLUMNS`/`SNAPSHOT_ROW_COLUMNS`, each staged
column named once, values where their names say."""

from __future__ import annotations

from typing import Any

from app.ingestion.normalize import NormalizedJob, normalize_record
from app.ingestion.writer import StagedJob, job_row, snapshot_rows, stage_job
from tests.ingestion.test_energy_record import NO_RATES
from tests.ingestion.test_normalize import CATALOG, NOW, record


def _staged(**fields: Any) -> StagedJob:
    job_ = normalize_record(record(**fields), now=NOW, catalog=CATALOG)
    assert isinstance(job_, NormalizedJob), job_
    return stage_job(job_, NO_RATES)


def test_row_tuples_name_every_staged_column_once() -> None:
    from app.db.staging import STAGED_JOBS, STAGED_SNAPSHOTS
    from app.ingestion.writer import JOB_ROW_COLUMNS, SNAPSHOT_ROW_COLUMNS
    assert sorted(JOB_ROW_COLUMNS) == sorted(c.name for c in STAGED_JOBS.columns)
    assert sorted(SNAPSHOT_ROW_COLUMNS) == sorted(c.name for c in STAGED_SNAPSHOTS.columns)
    import uuid
    from datetime import UTC, datetime
    p = _staged(cost="64.00", labels={"k": "v"})
    pk, team = uuid.uuid4(), uuid.uuid4()
    now = datetime(2026, 2, 1, tzinfo=UTC)
    row = job_row(p, pk, team, now)
    assert (row["id"], row["job_id"], row["team_id"], row["labels"], row["content_hash"], row["status"]) == (
        pk, p.job.job_id, team, {"k": "v"}, p.content_hash, "succeeded")
    assert (row["billed_cost_micros"], row["cost_micros"], row["created_at"]) == (64_000_000, 64_000_000, now)
    days = snapshot_rows(p, pk, team)
    assert [(d["day"].isoformat(), d["first_day"], d["first_in_month"], d["sign"], d["cost_micros"]) for d in days] \
        == [(day.day.isoformat(), int(i == 0), int(i == 0), 1, day.cost_micros) for i, day in enumerate(p.costing.days)]
