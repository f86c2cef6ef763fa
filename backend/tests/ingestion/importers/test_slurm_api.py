"""The made-up GPU cluster export (`fixtures/slurm/gpu-cluster.txt`) imported and stored through
`POST /api/v1/admin/ingest/jobs`: GPU-hours and cost per job and per team, worked out by hand, show that steps add
nothing and that array tasks, het components, MIG slices and running jobs are costed as the mapping says."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.ingestion.importers import ImportOptions, Tally
from app.ingestion.importers.slurm import SlurmImporter
from tests.ingestion.conftest import TEST_PROVIDER, add_price, ingest_ok

GPU_CLUSTER = Path(__file__).resolve().parent / "fixtures" / "slurm" / "gpu-cluster.txt"


async def test_gpu_cluster_export_costs(client: httpx.AsyncClient, admin_headers: dict[str, str],
                                        sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await add_price(sessionmaker, "H100", "2.00")  # USD per GPU-hour on the test provider; nothing else priced
    tally = Tally()
    with GPU_CLUSTER.open(encoding="utf-8") as stream:
        rows = list(SlurmImporter(ImportOptions(cluster="gpu-a", provider=TEST_PROVIDER)).read(stream, tally))
    tally.check()
    report = await ingest_ok(client, admin_headers, [r.record for r in rows])
    assert (report["created"], report["failed"]) == (11, 0)

    # job → (GPU-hours = GPUs × hours, cost = H100 GPU-hours × 2.00 USD, null where unpriced)
    expected = {
        "9001": ("32.000000", "64.000000"),      # 8 × 4 h; its three steps add nothing
        "9002_0": ("1.000000", None),            # 2 A100 × 0.5 h (no A100 price)
        "9002_1": ("2.000000", None),            # 2 × 1 h
        "9003+0": ("8.000000", None),            # 4 mixed × 2 h
        "9003+1": ("0.000000", None),            # CPU-only component
        "9004": ("0.250000", None),              # 1 MIG slice × 0.25 h
        # Running: 4 × 93,784 s (Start 13:05 to observed 15:08:04 the next day) / 3,600 = 104.204444…;
        # cost 375,136 / 3,600 × 2 = 208.408888… → 208.408889.
        "9005": ("104.204444", "208.408889"),
        "9006": ("0.000000", None),              # queued
        "9007": ("0.000000", None),              # ended without starting
        "9008": ("0.500000", None),              # 1 L4 × 0.5 h
        "9012": ("2.000000", None),              # 2 untyped × 1 h
    }
    for job_id, (gpu_hours, cost) in expected.items():
        response = await client.get(f"/api/v1/jobs/gpu-a:{job_id}", headers=admin_headers)
        assert response.status_code == 200, response.text
        assert (response.json()["gpu_hours"], response.json()["cost"]) == (gpu_hours, cost), job_id

    response = await client.get("/api/v1/analytics/cost/by-team", params={"start": "2026-01-10", "end": "2026-01-11"},
                                headers=admin_headers)
    assert response.status_code == 200, response.text
    teams = {item["team_name"]: item["gpu_hours"] for item in response.json()["items"]}
    # nlp: 32 + 0.25 + 375,136/3,600 + 0 + 0.5 = 493,036/3,600 = 136.954444…; vision: 1 + 2 + 8 + 0 + 0 + 2 = 13.
    assert teams == {"nlp": "136.954444", "vision": "13.000000"}


ENERGY_CLUSTER = GPU_CLUSTER.parent / "energy-cluster.txt"


async def test_energy_cluster_export_stores_energy_utilization_and_region(
        client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    tally = Tally()
    with ENERGY_CLUSTER.open(encoding="utf-8") as stream:
        rows = list(SlurmImporter(ImportOptions(cluster="e", provider=TEST_PROVIDER, region="DC-Paris"))
                    .read(stream, tally))
    tally.check()
    report = await ingest_ok(client, admin_headers, [r.record for r in rows])
    assert (report["created"], report["failed"]) == (5, 0)  # 7006 was skipped by the importer
    # (energy kWh, utilisation, region) as the job shows them: worked out in test_slurm_energy.py's docstring.
    expected = {"7001": ("25.000000", "0.8000"), "7002": ("0.347222", "0.9900"), "7003": (None, None),
                "7004": (None, "1.0000"), "7005": ("0.000002", None)}
    for job_id, (kwh, share) in expected.items():
        response = await client.get(f"/api/v1/jobs/e:{job_id}", headers=admin_headers)
        assert response.status_code == 200, response.text
        shown = response.json()
        assert (shown["energy_kwh"], shown["gpu_utilization"], shown["region"]) == (kwh, share, "dc-paris"), job_id
    again = await ingest_ok(client, admin_headers, [r.record for r in rows])
    assert again["unchanged"] == 5
