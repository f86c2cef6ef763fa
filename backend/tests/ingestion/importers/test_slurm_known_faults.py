"""Known faults F33, F34 and F35 (known-faults.md) end to end: the Slurm importer reads the fault's body with
`fields=FAULT_FIELDS`, the records it yields go through `POST /api/v1/admin/ingest/jobs`, and the stored jobs are
read back with `GET /api/v1/jobs/{job_id}`. (The faults' `POST /api/v1/ingest/slurm` does not exist: importing is
the command line's job, storing the service's.) Every expected figure is worked out by hand in the test."""

from __future__ import annotations

import io
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.ingestion.importers import ImportOptions, MappedRow, Tally
from app.ingestion.importers.slurm import SlurmImporter
from app.ingestion.importers.slurm_fields import parse_duration
from tests.ingestion.conftest import TEST_PROVIDER, add_price, ingest_ok

FAULT_FIELDS = ("JobID", "Account", "JobName", "State", "Start", "End", "Elapsed", "AllocTRES")
JOBS = "/api/v1/jobs/"


def import_body(body: str, **options: Any) -> tuple[list[MappedRow], Tally]:
    tally = Tally()
    rows = list(SlurmImporter(ImportOptions(fields=FAULT_FIELDS, **options)).read(io.StringIO(body), tally))
    tally.check()
    return rows, tally


async def get_job(client: httpx.AsyncClient, headers: dict[str, str], job_id: str) -> dict[str, Any]:
    response = await client.get(JOBS + job_id, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


# --- F33: array, het and step ids ---

F33_BODY = """\
7001_3|vision|resnet50-ft|COMPLETED|2026-01-14T08:00:00|2026-01-14T10:00:00|02:00:00|billing=32,cpu=8,gres/gpu:h100=2,gres/gpu=2,mem=64G,node=1
7001_3.batch|vision||COMPLETED|2026-01-14T08:00:00|2026-01-14T10:00:00|02:00:00|cpu=8,gres/gpu:h100=2,gres/gpu=2,mem=64G,node=1
7001_4|vision|resnet50-ft|COMPLETED|2026-01-14T08:00:00|2026-01-14T09:00:00|01:00:00|billing=32,cpu=8,gres/gpu:h100=2,gres/gpu=2,mem=64G,node=1
7100+0|nlp|llama-ft|COMPLETED|2026-01-14T08:00:00|2026-01-14T09:00:00|01:00:00|cpu=4,gres/gpu=1,mem=16G,node=1
7200_[1-40%4]|nlp|sweep|PENDING|Unknown|Unknown|00:00:00|
"""


def test_f33_importer_accounts_for_every_line() -> None:
    rows, tally = import_body(F33_BODY, provider="onprem-slurm")
    assert [(r.line, r.record["job_id"]) for r in rows] == [(1, "7001_3"), (3, "7001_4"), (4, "7100+0")]
    assert (tally.rows_read, tally.mapped, tally.folded) == (5, 3, 1)
    assert dict(tally.skipped) == {"pending array range": 1}
    assert tally.examples["pending array range"][0].startswith("line 5: 7200_[1-40%4]")


async def test_f33_array_het_and_step_ids_stored_as_text(
        client: httpx.AsyncClient, admin_headers: dict[str, str],
        sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    # A price for the pair, so that "the step adds no cost" is a figure: H100 at 2.50 USD per GPU-hour.
    await add_price(sessionmaker, "H100", "2.50", provider="onprem-slurm")
    rows, _ = import_body(F33_BODY, provider="onprem-slurm")
    report = await ingest_ok(client, admin_headers, [r.record for r in rows])
    assert (report["received"], report["created"], report["failed"]) == (3, 3, 0)

    # GPU-hours = GPUs × hours: 7001_3 2 × 2 h = 4; 7001_4 2 × 1 h = 2; 7100+0 1 × 1 h = 1 (untyped: unpriced).
    expected = {"7001_3": ("4.000000", "10.000000"), "7001_4": ("2.000000", "5.000000"),
                "7100+0": ("1.000000", None)}
    for job_id, (gpu_hours, cost) in expected.items():
        stored = await get_job(client, admin_headers, job_id)
        assert (stored["job_id"], stored["gpu_hours"], stored["cost"]) == (job_id, gpu_hours, cost)
        assert stored["status"] == "succeeded" and stored["provider"] == "onprem-slurm"

    # The .batch step is no job, and neither is the pending range.
    for absent in ("7001_3.batch", "7200_[1-40%4]", "7001", "7100"):
        assert (await client.get(JOBS + absent, headers=admin_headers)).status_code == 404
    listing = (await client.get("/api/v1/jobs", headers=admin_headers)).json()
    assert listing["total"] == 3

    # The same body again changes nothing.
    rows, _ = import_body(F33_BODY, provider="onprem-slurm")
    again = await ingest_ok(client, admin_headers, [r.record for r in rows])
    assert (again["unchanged"], again["created"], again["updated"], again["failed"]) == (3, 0, 0, 0)


# --- F34: Unknown/None times and duration formats ---

F34_BODY = """\
8001|vision|vit-l|RUNNING|2026-01-14T08:00:00|Unknown|1-02:03:04|cpu=8,gres/gpu=4,mem=64G,node=1
8002|vision|vit-l|CANCELLED by 0|None|2026-01-14T09:00:00|00:00:00|cpu=8,gres/gpu=4,mem=64G,node=1
8003|nlp|bert-ft|COMPLETED|2026-01-14T08:00:00|2026-01-14T10:03:04|02:03:04|cpu=8,gres/gpu=1,mem=32G,node=1
8004|nlp|bert-ft|COMPLETED|2026-01-14T08:00:00|2026-01-14T08:03:04|03:04.500|cpu=2,gres/gpu=1,mem=8G,node=1
8005|nlp|bert-ft|COMPLETED|2026-01-14T08:00:00|2026-01-14T07:59:44|-0:00:16|cpu=2,gres/gpu=1,mem=8G,node=1
8006|nlp|bert-ft|COMPLETED|garbage|2026-01-14T08:00:00|00:10:00|cpu=2,mem=8G,node=1
"""


def test_f34_durations_of_the_fault() -> None:
    assert parse_duration("1-02:03:04") == 93_784   # 86,400 + 2 × 3,600 + 3 × 60 + 4
    assert parse_duration("02:03:04") == 7_384      # 2 × 3,600 + 3 × 60 + 4
    assert parse_duration("03:04.500") == 184.5     # 3 × 60 + 4.5 (an exact Decimal)


def test_f34_importer_skips_the_garbage_start_with_its_line() -> None:
    rows, tally = import_body(F34_BODY)
    # 8005 is passed on (its Elapsed is not read for a finished job): the service refuses End before Start.
    assert [(r.line, r.record["job_id"]) for r in rows] == [(1, "8001"), (2, "8002"), (3, "8003"), (4, "8004"),
                                                            (5, "8005")]
    assert dict(tally.skipped) == {"unreadable Start": 1}
    assert tally.examples["unreadable Start"] == [
        "line 6: Start: 'garbage' is not a sacct time (YYYY-MM-DDTHH:MM:SS, Unknown or None)"]
    running = rows[0].record
    # 08:00:00 + 93,784 s (1 day 2 h 3 min 4 s) = 2026-01-15T10:03:04: when sacct measured the running job.
    assert (running["status"], running["observed_at"]) == ("running", "2026-01-15T10:03:04Z")
    assert "ended_at" not in running
    cancelled = rows[1].record
    assert (cancelled["status"], cancelled["ended_at"]) == ("cancelled", "2026-01-14T09:00:00Z")
    assert "started_at" not in cancelled


async def test_f34_unknown_none_times_and_durations_end_to_end(
        client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    rows, _ = import_body(F34_BODY, provider=TEST_PROVIDER)
    report = await ingest_ok(client, admin_headers, [r.record for r in rows])
    assert (report["received"], report["created"], report["failed"]) == (5, 4, 1)
    assert report["errors"] == [{"index": 4, "job_id": "8005", "field": "ended_at",
                                 "message": "is before started_at"}]
    # The error's index is the record's place in the batch; the importer says which line that record came from.
    assert rows[report["errors"][0]["index"]].line == 5

    running = await get_job(client, admin_headers, "8001")
    # 4 GPUs × 93,784 s / 3,600 = 104.204444… GPU-hours, up to observed_at.
    assert (running["status"], running["ended_at"], running["observed_at"], running["gpu_hours"]) == (
        "running", None, "2026-01-15T10:03:04Z", "104.204444")
    cancelled = await get_job(client, admin_headers, "8002")
    # Never started: no run, so no GPU time; no price for an untyped GPU, so no cost is invented either.
    assert (cancelled["status"], cancelled["started_at"], cancelled["gpu_hours"], cancelled["cost"]) == (
        "cancelled", None, "0.000000", None)
    # 8003: 1 GPU × 7,384 s / 3,600 = 2.0511…; 8004: 1 GPU × 184 s (08:00:00 to 08:03:04) / 3,600 = 0.0511….
    assert (await get_job(client, admin_headers, "8003"))["gpu_hours"] == "2.051111"
    assert (await get_job(client, admin_headers, "8004"))["gpu_hours"] == "0.051111"
    for refused in ("8005", "8006"):
        assert (await client.get(JOBS + refused, headers=admin_headers)).status_code == 404


# --- F35: GPUs from TRES strings ---

F35_TABLE = [
    # job id, AllocTRES, gpu_count, stored gpu_type (the service upper-cases unknown types; h100 is the H100 alias;
    # a MIG slice type becomes its canonical <PARENT>-MIG-<profile>: 3g.20gb is an A100 40GB profile)
    ("9501", "billing=64,cpu=16,gres/gpu:h100=2,gres/gpu=2,mem=128G,node=1", "2", "H100"),
    ("9502", "cpu=32,gres/gpu:a100=4,mem=256G,node=1", "4", "A100"),
    ("9503", "cpu=8,gres/gpu=1,mem=32G,node=1", "1", None),
    ("9504", "cpu=8,gres/gpu:a100_3g.20gb=1,gres/gpu=1,mem=20G,node=1", "1", "A100-40GB-MIG-3G.20GB"),
    ("9505", "cpu=16,gres/gpu:a100=2,gres/gpu:h100=2,gres/gpu=4,node=2", "4", "MIXED"),
    ("9506", "cpu=4,mem=16G,node=1", "0", None),
    ("9507", "", "0", None),
]


def f35_body() -> str:
    return "".join(f"{job_id}|vision|f35-model|COMPLETED|2026-01-14T08:00:00|2026-01-14T09:00:00|01:00:00|{tres}\n"
                   for job_id, tres, _, _ in F35_TABLE)


def test_f35_importer_gpu_table() -> None:
    rows, _ = import_body(f35_body())
    assert [(r.record["gpu_count"], r.record.get("gpu_type")) for r in rows] == [
        ("2", "h100"), ("4", "a100"), ("1", None), ("1", "a100_3g.20gb"), ("4", "mixed"), ("0", None), ("0", None)]


async def test_f35_gpu_count_and_type_from_tres_end_to_end(
        client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    rows, _ = import_body(f35_body(), provider=TEST_PROVIDER)
    report = await ingest_ok(client, admin_headers, [r.record for r in rows])
    assert (report["created"], report["failed"]) == (7, 0)
    for job_id, _, gpu_count, gpu_type in F35_TABLE:
        stored = await get_job(client, admin_headers, job_id)
        # Each job ran exactly 1 hour, so its GPU-hours are its GPU count.
        assert (stored["gpu_count"], stored["gpu_type"], stored["gpu_hours"]) == (
            gpu_count, gpu_type, f"{gpu_count}.000000"), job_id
    # Nothing counted twice by model: 2 + 4 + 1 + 1 + 4 + 0 + 0 = 12 GPU-hours on 2026-01-14.
    response = await client.get("/api/v1/analytics/cost/by-model", params={"start": "2026-01-14", "end": "2026-01-14"},
                                headers=admin_headers)
    assert response.status_code == 200, response.text
    analytics = response.json()
    assert analytics["total_gpu_hours"] == "12.000000"
    assert [(i["model_name"], i["gpu_hours"]) for i in analytics["items"]] == [("f35-model", "12.000000")]
