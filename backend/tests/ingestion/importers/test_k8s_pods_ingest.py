"""The openb pod-list fixture's jobs through `POST /api/v1/admin/ingest/jobs` (SQLite and PostgreSQL): accepted
as they are, running pods observed at the trace's last instant (so a second import changes nothing)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from app.ingestion.importers import ImportOptions, Tally, importer_for
from tests.ingestion.conftest import ingest_ok

OPENB = Path(__file__).parent / "fixtures" / "k8s" / "openb_edge.csv"


def records() -> list[dict]:
    tally = Tally()
    options = ImportOptions(epoch=datetime(2023, 1, 1, tzinfo=UTC), team="ml")
    with OPENB.open(newline="", encoding="utf-8") as stream:
        jobs = [row.record for row in importer_for("k8s-pods")(options).read(stream, tally)]
    tally.check()
    return jobs


async def test_the_pods_are_stored_once_and_a_second_import_is_unchanged(client, admin_headers) -> None:
    first = await ingest_ok(client, admin_headers, records())
    assert (first["received"], first["created"], first["failed"]) == (9, 9, 0)
    second = await ingest_ok(client, admin_headers, records())
    assert (second["unchanged"], second["created"], second["updated"]) == (9, 0, 0)
    response = await client.get("/api/v1/jobs/pod-alive", headers=admin_headers)
    assert response.status_code == 200, response.text
    job = response.json()
    # 8 GPUs from 1,000 s to the last instant, 10,000 s: 8 × 9,000 s = 72,000 GPU-seconds = 20 GPU-hours.
    assert (job["status"], job["gpu_hours"], job["cost_source"]) == ("running", "20.000000", "unpriced")
    share = (await client.get("/api/v1/jobs/pod-share", headers=admin_headers)).json()
    # 0.46 GPU from 200 s to 3,800 s: 0.46 × 1 h = 0.46 GPU-hours.
    assert share["gpu_hours"] == "0.460000"
