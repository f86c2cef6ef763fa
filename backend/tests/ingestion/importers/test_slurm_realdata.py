"""Real sacct output (aws-samples/hpc-cost-simulator, MIT-0; copied with its attribution into
`fixtures/slurm/aws-hpccostsim/`, see SOURCE.md there): header-less, 25- and 26-field rows, `#` comments and
blank lines, CPU-only. Every row must be accounted for, every record must be a valid job with zero GPU-hours.

The expected counts were taken by hand (`awk -F'|'`, `grep -c`; SOURCE.md's table) and are also recounted here
with a plain split, independent of the importer."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.ingestion.importers import ImportOptions, MappedRow, Tally
from app.ingestion.importers.slurm import AWS_SAMPLE_FIELDS, SlurmImporter
from app.ingestion.normalize import NormalizedJob, normalize_record
from app.pricing.catalog import default_catalog
from tests.ingestion.conftest import ingest_ok

AWS = Path(__file__).resolve().parent / "fixtures" / "slurm" / "aws-hpccostsim"
REALDATA = Path("/work/shared/realdata/aws-hpccostsim-sacct")
FILES = ("sacct-output-v2.txt", "array-sacct-output.txt", "multi-node-sacct-output.txt")
# The --fields value of the sample's SOURCE.txt, as a user types it.
FIELDS = ("State,JobID,ReqCPUS,ReqMem,ReqNodes,Constraints,Submit,Eligible,Start,Elapsed,Suspended,End,ExitCode,"
          "DerivedExitCode,AllocNodes,NCPUS,MaxDiskRead,MaxDiskWrite,MaxPages,MaxRSS,MaxVMSize,CPUTime,UserCPU,"
          "SystemCPU,TotalCPU[,Partition]")
NOW = datetime(2026, 1, 1, tzinfo=UTC)  # after every instant of the sample; fixed, not the wall clock


def import_file(name: str) -> tuple[list[MappedRow], Tally]:
    tally = Tally()
    options = ImportOptions(fields=(FIELDS,), team="hpc-cost-sim", provider="aws", cluster="aws-pc")
    with (AWS / name).open(encoding="utf-8") as stream:
        rows = list(SlurmImporter(options).read(stream, tally))
    tally.check()
    return rows, tally


def plain_count(name: str) -> Counter[str]:
    """Lines by kind, by the simplest reading: blank, `#`, step (the JobID, second field, holds a dot), job."""
    kinds: Counter[str] = Counter()
    for line in (AWS / name).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            kinds["blank"] += 1
        elif line.startswith("#"):
            kinds["comment"] += 1
        else:
            kinds["step" if "." in line.split("|")[1] else "job"] += 1
    return kinds


def test_the_documented_fields_are_the_source_txt_value() -> None:
    assert AWS_SAMPLE_FIELDS == FIELDS


@pytest.mark.parametrize(("name", "jobs", "steps", "comments", "blank"), [
    ("sacct-output-v2.txt", 483, 395, 0, 0),
    ("array-sacct-output.txt", 8, 8, 3, 1),
    ("multi-node-sacct-output.txt", 1, 1, 2, 1),
])
def test_every_row_is_accounted_for(name: str, jobs: int, steps: int, comments: int, blank: int) -> None:
    assert plain_count(name) == Counter({"job": jobs, "step": steps, "comment": comments, "blank": blank}) - Counter()
    rows, tally = import_file(name)
    assert (tally.rows_read, tally.mapped, tally.folded, tally.skipped_total) == (jobs + steps, jobs, steps, 0)
    assert len(rows) == jobs
    if comments or blank:
        assert f"ignored {blank} blank, {comments} comment (#) line(s): they are not rows" in tally.notes


@pytest.mark.parametrize("name", FILES)
def test_every_record_is_a_valid_job_without_gpus(name: str) -> None:
    rows, _ = import_file(name)
    for row in rows:
        job = normalize_record(row.record, now=NOW, catalog=default_catalog())
        assert isinstance(job, NormalizedJob), (name, row.line, job)
        assert (job.gpu_milli, job.gpu_type, job.provider, job.team) == (0, None, "aws", "hpc-cost-sim")


def test_v2_statuses_and_labels() -> None:
    rows, _ = import_file("sacct-output-v2.txt")
    # Job rows by State (awk): 261 OUT_OF_MEMORY + 129 FAILED = 390 failed, 91 "CANCELLED by 32874", 2 COMPLETED.
    assert Counter(r.record["status"] for r in rows) == {"failed": 390, "cancelled": 91, "succeeded": 2}
    # 16 job rows have the 26th field (Partition); 140 c5.large and 171 m5.large Constraints.
    assert Counter(r.record["labels"].get("partition") for r in rows) == {None: 467, "partition1": 15,
                                                                          "partition2": 1}
    assert Counter(r.record["labels"].get("constraints") for r in rows) == {None: 172, "c5.large": 140,
                                                                            "m5.large": 171}
    first = rows[0].record
    assert first == {
        "job_id": "aws-pc:67108865", "team": "hpc-cost-sim", "status": "failed", "gpu_count": "0",
        "provider": "aws", "submitted_at": "2022-02-18T17:32:41Z", "started_at": "2022-02-18T17:36:39Z",
        "ended_at": "2022-02-18T17:41:55Z",
        "labels": {"slurm_state": "OUT_OF_MEMORY", "partition": "partition1", "nodes": "1", "cluster": "aws-pc"},
    }


def test_array_and_multi_node_ids_and_labels() -> None:
    rows, _ = import_file("array-sacct-output.txt")
    assert [r.record["job_id"] for r in rows] == [f"aws-pc:846_{n}" for n in range(8)]
    assert all(r.record["labels"]["constraints"] == "c7&x86_64&t3.large&ondemand" for r in rows)
    (multi,), _ = import_file("multi-node-sacct-output.txt")
    assert (multi.line, multi.record["job_id"], multi.record["labels"]["nodes"]) == (4, "aws-pc:845", "4")


async def test_the_sample_is_stored_with_zero_gpu_hours(client: httpx.AsyncClient,
                                                        admin_headers: dict[str, str]) -> None:
    records: list[dict[str, Any]] = [r.record for name in FILES for r in import_file(name)[0]]
    report = await ingest_ok(client, admin_headers, records)
    # 483 + 8 + 1 jobs, all distinct ids.
    assert (report["received"], report["created"], report["failed"]) == (492, 492, 0)
    listing = (await client.get("/api/v1/jobs", params={"provider": "aws", "limit": 100},
                                headers=admin_headers)).json()
    assert listing["total"] == 492
    assert {job["gpu_hours"] for job in listing["jobs"]} == {"0.000000"}
    response = await client.get("/api/v1/analytics/cost/by-team", params={"start": "2022-01-01", "end": "2022-12-31"},
                                headers=admin_headers)
    assert response.status_code == 200, response.text
    assert (response.json()["total_gpu_hours"], response.json()["total_cost"]) == ("0.000000", "0.000000")


@pytest.fixture
def realdata() -> Path:
    if not REALDATA.is_dir():
        pytest.skip(f"{REALDATA} is absent: the copies in {AWS} cannot be compared with the originals")
    return REALDATA


@pytest.mark.parametrize("name", FILES)
def test_the_copies_are_the_shared_originals(realdata: Path, name: str) -> None:
    digest = hashlib.sha256((AWS / name).read_bytes()).hexdigest()
    assert digest == hashlib.sha256((realdata / name).read_bytes()).hexdigest()
    assert digest in (AWS / "SOURCE.md").read_text(encoding="utf-8")

