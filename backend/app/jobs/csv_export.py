"""`GET /jobs?format=csv`: the job list as CSV (RFC 4180, UTF-8, `\\r\\n` line ends), one line per job, in the
listing order, with a header row. Every value is the string the JSON listing shows for the same job (amounts and
GPU-hours as 6-place decimals, timestamps in RFC 3339 UTC), an empty field for null, and `labels` as a compact JSON
object with sorted keys. Text a spreadsheet would run as a formula gets a leading `'` (CSV injection).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from typing import Any

from app.core.csv_text import csv_lines
from app.jobs.schemas import JobRead

# (CSV column, where its value comes from in the JSON of a job). Documented in README ("Jobs as CSV").
CSV_COLUMNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("job_id", ("job_id",)), ("team_id", ("team", "id")), ("team", ("team", "name")), ("status", ("status",)),
    ("model_name", ("model_name",)), ("gpu_type", ("gpu_type",)), ("gpu_count", ("gpu_count",)),
    ("provider", ("provider",)), ("user", ("user",)), ("submitted_at", ("submitted_at",)),
    ("started_at", ("started_at",)), ("ended_at", ("ended_at",)), ("observed_at", ("observed_at",)),
    ("gpu_hours", ("gpu_hours",)), ("cost", ("cost",)), ("billed_cost", ("billed_cost",)),
    ("cost_source", ("cost_source",)), ("currency", ("currency",)), ("labels", ("labels",)), ("id", ("id",)),
    ("created_at", ("created_at",)), ("updated_at", ("updated_at",)), ("energy_kwh", ("energy_kwh",)),
    ("gpu_utilization", ("gpu_utilization",)), ("region", ("region",)),
)


def csv_filename(now: datetime | None = None) -> str:
    """`jobcost-jobs-<UTC instant>.csv`, e.g. `jobcost-jobs-20261205T101500Z.csv`."""
    return f"jobcost-jobs-{(now or datetime.now(UTC)).strftime('%Y%m%dT%H%M%SZ')}.csv"


def _field(shown: dict[str, Any], path: tuple[str, ...]) -> str:
    value: Any = shown
    for step in path:
        value = value[step]
    if value is None:
        return ""
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def job_lines(jobs: Iterable[JobRead], *, header: bool = False) -> str:
    """CSV text for `jobs` (the header row first when `header`); names a spreadsheet would run as formulas are
    defused (`app.core.csv_text`)."""
    rows = [[name for name, _ in CSV_COLUMNS]] if header else []
    rows += [[_field(job.model_dump(mode="json"), path) for _, path in CSV_COLUMNS] for job in jobs]
    return csv_lines(rows)


async def csv_stream(batches: AsyncIterator[list[JobRead]]) -> AsyncIterator[str]:
    """The header row, then one chunk of CSV per batch of jobs."""
    yield job_lines((), header=True)
    async for batch in batches:
        yield job_lines(batch)
