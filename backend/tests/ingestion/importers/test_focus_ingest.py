"""The FOCUS fixture's jobs through `POST /api/v1/admin/ingest/jobs` (SQLite and PostgreSQL): accepted as they
are, their billed costs stored, and a second import of the same file changes nothing."""

from __future__ import annotations

from pathlib import Path

from app.ingestion.importers import ImportOptions, Tally, importer_for
from tests.ingestion.conftest import ingest_ok

SAMPLE_ROWS = Path(__file__).parent / "fixtures" / "focus" / "focus_sample_rows.csv"


def records() -> list[dict]:
    tally = Tally()
    with SAMPLE_ROWS.open(newline="", encoding="utf-8") as stream:
        jobs = [row.record for row in importer_for("focus")(ImportOptions()).read(stream, tally)]
    tally.check()
    return jobs


async def test_the_jobs_are_stored_once_and_a_second_import_is_unchanged(client, admin_headers) -> None:
    first = await ingest_ok(client, admin_headers, records())
    assert (first["received"], first["created"], first["failed"]) == (4, 4, 0)
    second = await ingest_ok(client, admin_headers, records())
    assert (second["unchanged"], second["created"], second["updated"]) == (4, 0, 0)
    response = await client.get("/api/v1/jobs/1756931", headers=admin_headers)
    assert response.status_code == 200, response.text
    job = response.json()
    # 1.624 USD billed for one A10G over 15:00–16:00: 1 GPU-hour.
    assert (job["cost"], job["billed_cost"], job["cost_source"]) == ("1.624000", "1.624000", "billed")
    assert (job["gpu_type"], job["gpu_hours"], job["provider"]) == ("A10G", "1.000000", "aws")
