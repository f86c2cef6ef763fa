"""MIG slice names through the API: whatever spelling a job is sent with, it is stored under the one canonical
slice type, so the same slice from Slurm, Kubernetes and the API is one GPU type (and one price)."""

from __future__ import annotations

import httpx

from tests.ingestion.conftest import TEST_PROVIDER, ingest_ok, job

SPELLINGS = {
    "mig-canonical": "A100-80GB-MIG-3G.40GB",
    "mig-slurm": "a100_3g.40gb",
    "mig-k8s-resource": "nvidia.com/mig-3g.40gb",
    "mig-k8s-short": "mig-3g.40gb",
    "mig-gfd-label": "NVIDIA-A100-SXM4-80GB-MIG-3g.40gb",
}


async def test_every_spelling_is_stored_as_the_canonical_slice(
        client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    records = [job(job_id, gpu_type=spelling, gpu_count=1, cost=None) for job_id, spelling in SPELLINGS.items()]
    records.append(job("mig-h100", gpu_type="nvidia.com/gpu.product=NVIDIA-H100-80GB-HBM3-MIG-1g.10gb",
                       gpu_count=2, cost=None))
    report = await ingest_ok(client, admin_headers, records)
    assert (report["created"], report["failed"]) == (6, 0), report

    for job_id in SPELLINGS:
        response = await client.get(f"/api/v1/jobs/{job_id}", headers=admin_headers)
        assert response.status_code == 200, response.text
        assert response.json()["gpu_type"] == "A100-80GB-MIG-3G.40GB", job_id
        assert response.json()["provider"] == TEST_PROVIDER
    stored = (await client.get("/api/v1/jobs/mig-h100", headers=admin_headers)).json()
    assert (stored["gpu_type"], stored["gpu_count"]) == ("H100-MIG-1G.10GB", "2")

    # A filter in any spelling finds the same jobs.
    response = await client.get("/api/v1/jobs", params={"gpu_type": "gres/gpu:a100_3g.40gb", "limit": 100},
                                headers=admin_headers)
    assert response.status_code == 200, response.text
    assert sorted(j["job_id"] for j in response.json()["jobs"]) == sorted(SPELLINGS)
