"""`jobcost ingest` end to end: a CSV export sent to the real app (in this process, through its lifespan, on a
database of the test's own), the refused record named by its line in the file, a second run through standard
input changing nothing, and the service's refusals of bad tokens.

Expected counts are worked out by hand from the file in each test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.engine import create_sessionmaker
from app.db.models import Job
from app.ingestion import cli_send
from app.main import create_app
from tests.cli.helpers import invoke, run_async, token_for, with_api, with_connection
from tests.conftest import make_settings
from tests.databases import ScratchDatabase, engine_for
from tests.factories import create_ingest_token

ADMIN, MEMBER, PASSWORD = "ingest-admin@example.test", "ingest-member@example.test", "password-for-tests"
EXPORT = """JobID,Group,State,Start,End,GPUs,Cost,Partition
1,NLP,COMPLETED,2026-01-14 08:00,2026-01-14 10:00,8,12.50,gpu-a
2,NLP,COMPLETED,2026-01-14 09:00,2026-01-14 11:00,1,,gpu-a
"3"x,NLP,COMPLETED,2026-01-14 09:00,2026-01-14 11:00,1,,gpu-a

4,Vision,COMPLETED,2026-01-14 12:00,2026-01-14 11:00,2,,gpu-b
5,Vision,FAILED,2026-01-14 12:00,2026-01-14 13:00,2,3.00,gpu-b
"""
MAP_FILE = """[map]
job_id = "JobID"
team = "Group"
status = "State"
started_at = "Start"
ended_at = "End"

[map.labels]
partition = "Partition"
"""


@pytest.fixture
def service(fresh_db: ScratchDatabase, monkeypatch: pytest.MonkeyPatch) -> tuple[ScratchDatabase, list[str]]:
    """The real app on `fresh_db`, reached by `jobcost ingest` in this process; the URLs it was asked for."""
    urls: list[str] = []

    @asynccontextmanager
    async def in_process(url: str, request_timeout_s: float) -> AsyncIterator[httpx.AsyncClient]:
        urls.append(url)
        application = create_app(make_settings(fresh_db.url))
        async with application.router.lifespan_context(application):
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url=url) as client:
                yield client

    monkeypatch.setattr(cli_send, "open_client", in_process)
    return fresh_db, urls


def create_user(url: str, email: str, role: str) -> str:
    result = invoke("users", "create", "--email", email, "--password", PASSWORD, "--role", role,
                    "--database-url", url)
    assert result.exit_code == 0, result.output
    return token_for(url, email, PASSWORD)


def stored_jobs(url: str) -> dict[str, tuple[Any, ...]]:
    """job_id → (started_at, ended_at, billed cost, labels), read straight from the table."""

    async def work(connection: AsyncConnection) -> dict[str, tuple[Any, ...]]:
        rows = await connection.execute(sa.select(Job.job_id, Job.started_at, Job.ended_at, Job.billed_cost,
                                                  Job.labels))
        return {row[0]: tuple(row[1:]) for row in rows.all()}

    return with_connection(url, work)


def test_a_csv_export_is_sent_in_chunks_and_a_refused_record_is_named_by_its_line(
        service: tuple[ScratchDatabase, list[str]], tmp_path: Path) -> None:
    db, urls = service
    token = create_user(db.url, ADMIN, "admin")
    export = tmp_path / "jobs.csv"
    export.write_text(EXPORT, encoding="utf-8")
    (tmp_path / "map.toml").write_text(MAP_FILE, encoding="utf-8")
    args = ["--format", "csv", "--map-file", str(tmp_path / "map.toml"), "--map", "gpu_count=GPUs",
            "--map", "cost=Cost", "--tz", "Europe/Paris", "--cluster", "slurm-a", "--chunk-size", "2"]

    result = invoke("ingest", str(export), *args, "--token", token)

    # Rows: lines 2, 3, 6, 7 mapped; line 4 is not readable CSV; line 5 is empty (not a row). Two requests of 2:
    # [2, 3] and [6, 7]; line 6 ends before it starts. Teams NLP and Vision are new.
    assert result.exit_code == 1, result.output
    assert "(csv): 5 rows: 4 mapped, 0 folded, 1 skipped" in result.stdout
    assert "skipped 1 × not readable CSV (line 4: ',' expected after '\"')" in result.stdout
    assert ("sent 4 jobs in 2 requests: 3 created, 0 updated, 0 unchanged, 0 superseded, 1 refused; 2 new teams"
            in result.stdout)
    assert "line 6 job_id 'slurm-a:4': ended_at: is before started_at" in result.stdout
    assert urls == ["http://127.0.0.1:8000"]
    jobs = stored_jobs(db.url)
    assert sorted(jobs) == ["slurm-a:1", "slurm-a:2", "slurm-a:5"]
    # 08:00–10:00 in Paris in January (UTC+1) is 07:00–09:00 UTC.
    assert jobs["slurm-a:1"] == (datetime(2026, 1, 14, 7, tzinfo=UTC), datetime(2026, 1, 14, 9, tzinfo=UTC),
                                 Decimal("12.50"), {"partition": "gpu-a"})
    assert jobs["slurm-a:5"][2] == Decimal("3.00")

    again = invoke("ingest", "-", *args, input=EXPORT,
                   env={"JOBCOST_TOKEN": token, "JOBCOST_URL": "http://jobcost.example.test:8080"})

    assert again.exit_code == 1, again.output
    assert "read standard input (csv): 5 rows: 4 mapped" in again.stdout
    assert "sent 4 jobs in 2 requests: 0 created, 0 updated, 3 unchanged, 0 superseded, 1 refused" in again.stdout
    assert urls[-1] == "http://jobcost.example.test:8080"


def test_tokens_the_service_refuses_stop_the_run_and_an_ingest_token_is_accepted(
        service: tuple[ScratchDatabase, list[str]], tmp_path: Path) -> None:
    db, _ = service
    member_token = create_user(db.url, MEMBER, "member")
    export = tmp_path / "one.ndjson"
    export.write_text('{"job_id": "n1", "team": "ml", "status": "queued"}\n', encoding="utf-8")

    forged = invoke("ingest", str(export), "--format", "ndjson", "--token", "not-a-token")
    member = invoke("ingest", str(export), "--format", "ndjson", "--token", member_token)

    assert forged.exit_code == 3, forged.output
    assert "error: HTTP 401 from the service: the token was refused" in forged.stderr
    assert member.exit_code == 3, member.output
    assert "error: HTTP 403 from the service: this token may not ingest" in member.stderr
    for result in (forged, member):
        assert "Nothing was sent before it." in result.stderr
        assert "Traceback" not in result.output
    assert stored_jobs(db.url) == {}

    async def issue() -> str:
        settings = make_settings(db.url)
        async with engine_for(settings) as engine:
            return (await create_ingest_token(create_sessionmaker(engine), settings)).token

    accepted = invoke("ingest", str(export), "--format", "ndjson", "--token", run_async(issue))

    assert accepted.exit_code == 0, accepted.output
    assert "sent 1 job in 1 request: 1 created, 0 updated, 0 unchanged, 0 superseded, 0 refused" in accepted.stdout
    assert list(stored_jobs(db.url)) == ["n1"]


GPU_CLUSTER = Path(__file__).resolve().parents[1] / "ingestion" / "importers" / "fixtures" / "slurm" / "gpu-cluster.txt"


def test_the_shipped_slurm_sample_s_mig_slice_is_listed_under_its_canonical_type(
        service: tuple[ScratchDatabase, list[str]]) -> None:
    db, _ = service
    token = create_user(db.url, ADMIN, "admin")
    args = [str(GPU_CLUSTER), "--format", "slurm", "--cluster", "gpu-a", "--provider", "onprem"]

    checked = invoke("ingest", *args, "--dry-run")
    sent = invoke("ingest", *args, "--token", token)

    # Line 15, job 9004, is the sample's one MIG row: AllocTRES gres/gpu:a100_3g.20gb=1. The importer sends the GRES
    # type as Slurm writes it; 3g.20gb is a profile of the A100 40GB only (docs/importers/mig.md), so the service
    # stores A100-40GB-MIG-3G.20GB, and the dry run says so.
    assert checked.exit_code == 0, checked.output
    assert '"gpu_type": "a100_3g.20gb"' not in checked.stdout  # not among the first three records shown
    assert "a100_3g.20gb → A100-40GB-MIG-3G.20GB (1 job)" in checked.stdout
    assert sent.exit_code == 0, sent.output

    async def listed(client: httpx.AsyncClient) -> list[httpx.Response]:
        headers = {"Authorization": f"Bearer {token}"}
        return [await client.get("/api/v1/jobs", params=params, headers=headers)
                for params in ({"limit": 100}, {"gpu_type": "A100-40GB-MIG-3G.20GB"},
                               {"gpu_type": "a100_3g.20gb"})]

    every, canonical, as_slurm_writes_it = with_api(db.url, listed)
    for response in (every, canonical, as_slurm_writes_it):
        assert response.status_code == 200, response.text
    jobs = {job["job_id"]: job for job in every.json()["jobs"]}
    types = {job_id: job["gpu_type"] for job_id, job in jobs.items()}
    assert types["gpu-a:9004"] == "A100-40GB-MIG-3G.20GB"
    assert jobs["gpu-a:9004"]["labels"]["gpu_type_sent"] == "a100_3g.20gb"  # the name as sent, kept
    assert not any(gpu_type and "3g" in gpu_type.casefold() and gpu_type != "A100-40GB-MIG-3G.20GB"
                   for gpu_type in types.values())
    for response in (canonical, as_slurm_writes_it):
        assert [job["job_id"] for job in response.json()["jobs"]] == ["gpu-a:9004"]
