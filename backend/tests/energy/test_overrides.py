"""Admins override the energy coefficients (`/admin/energy/coefficients`): the jobs a change touches are
recomputed by the independently worked amount, the others are left alone, measured energy stays as measured,
rollups follow, a removal restores the shipped file's figure, every change is logged, and the rules (validation,
roles, idempotence) hold. Figures of the shipped file: H100 80.5 W idle / 700 W full (TDP, 11.5 % idle), the
test provider has no PUE (default 1.58) and no region (480 g/kWh)."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings
from tests.analytics.test_rollups import assert_rollups_match
from tests.energy.test_job_figures import H100_KG, H100_KWH, job_body
from tests.factories import create_read_token, token_headers
from tests.ingestion.conftest import TEST_PROVIDER, ingest_ok, job

API = "/api/v1"
URL = f"{API}/admin/energy/coefficients"
H100_1000 = {"kind": "gpu", "gpu_type": "H100", "idle_watts": "100", "full_watts": "1000", "note": "measured"}
# 8 H100s × 4 h = 32 GPU-hours at u = 0.5 (unknown): 100 + 0.5 × (1000 − 100) = 550 W; × 32 h = 17,600 Wh;
# × PUE 1.58 = 27,808 Wh = 27.808 kWh; × 480 g/kWh = 13,347.84 g.
OVERRIDDEN_KWH, OVERRIDDEN_KG = "27.808000", "13.347840"
# 1 T4 (8 W idle, 71 W full) × 4 h at u = 0.5: 39.5 W × 4 h = 158 Wh × 1.58 = 249.64 Wh (not an H100).
T4_KWH = "0.249640"


async def _set(client: httpx.AsyncClient, headers: dict[str, str], *overrides: dict[str, Any]) -> httpx.Response:
    return await client.post(URL, json={"overrides": list(overrides)}, headers=headers)


async def _kwh(client: httpx.AsyncClient, headers: dict[str, str], job_id: str) -> tuple[str, str]:
    energy = (await job_body(client, headers, job_id))["energy"]
    return energy["kwh"], energy["co2e_kg"]


async def test_a_gpu_override_recomputes_that_type_only_and_its_removal_restores_the_file(
        client: httpx.AsyncClient, admin_headers: dict[str, str],
        sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await ingest_ok(client, admin_headers, [job("o-1"), job("o-2", gpu_type="T4", gpu_count=1),
                                            job("o-3", energy_kwh="10")])
    assert await _kwh(client, admin_headers, "o-2") == (T4_KWH, "0.119827")  # 0.24964 × 480 = 119.8272 g

    response = await _set(client, admin_headers, H100_1000)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["set"][0] | {"updated_at": None} == {
        "kind": "gpu", "provider": None, "gpu_type": "H100", "region": None, "idle_watts": "100.000",
        "full_watts": "1000.000", "pue": None, "g_co2e_per_kwh": None, "note": "measured",
        "created_by": body["set"][0]["created_by"], "updated_at": None}
    # o-1 and o-3 are H100s: both read; o-3's energy is measured (10 kWh, carbon 10 × 480 = 4.8 kg): not rewritten.
    assert body["recompute"] == {"jobs_read": 2, "jobs_rewritten": 1,
                                 "energy_kwh_before": "29.731040", "energy_kwh_after": "37.808000",
                                 "co2e_kg_before": "14.270899", "co2e_kg_after": "18.147840"}
    assert body["operation"] is None
    assert await _kwh(client, admin_headers, "o-1") == (OVERRIDDEN_KWH, OVERRIDDEN_KG)
    assert await _kwh(client, admin_headers, "o-2") == (T4_KWH, "0.119827")
    assert await _kwh(client, admin_headers, "o-3") == ("10.000000", "4.800000")
    await assert_rollups_match(sessionmaker)
    totals = (await client.get(f"{API}/analytics/cost", params={"start": "2026-01-14", "end": "2026-01-14"},
                               headers=admin_headers)).json()["totals"]
    assert totals["energy_kwh"] == "38.057640"  # 27.808 + 0.24964 + 10: the per-job sum

    coefficients = (await client.get(f"{API}/energy/coefficients", headers=admin_headers)).json()
    h100 = next(g for g in coefficients["gpus"] if g["gpu_type"] == "H100")
    assert (h100["idle_watts"], h100["full_watts"], h100["origin"], h100["note"]) == (
        "100.000", "1000.000", "admin", "measured")
    assert h100["source"].startswith("admin:")
    t4 = next(g for g in coefficients["gpus"] if g["gpu_type"] == "T4")
    assert t4["origin"] == "file"

    again = await _set(client, admin_headers, H100_1000)  # the same figures and note: nothing written
    assert again.json() == {"set": [], "unchanged": [0], "recompute": None, "operation": None}

    removed = await client.delete(URL, params={"kind": "gpu", "gpu_type": "h100"}, headers=admin_headers)
    assert removed.status_code == 200, removed.text
    assert removed.json()["removed"]["gpu_type"] == "H100"
    assert removed.json()["recompute"]["jobs_rewritten"] == 1
    assert await _kwh(client, admin_headers, "o-1") == (H100_KWH, H100_KG)
    await assert_rollups_match(sessionmaker)
    missing = await client.delete(URL, params={"kind": "gpu", "gpu_type": "H100"}, headers=admin_headers)
    assert missing.status_code == 404

    log = (await client.get(f"{URL}/changes", headers=admin_headers)).json()
    assert log["total"] == 2 and [c["action"] for c in log["changes"]] == ["unset", "set"]
    unset, first = log["changes"]
    assert (first["kind"], first["gpu_type"], first["provider"]) == ("gpu", "H100", "")
    assert first["before"]["origin"] == "file" and first["before"]["idle_watts"] == "80.500"
    assert first["after"]["origin"] == "admin" and first["after"]["full_watts"] == "1000.000"
    assert unset["before"]["idle_watts"] == "100.000" and unset["after"]["full_watts"] == "700.000"
    page = (await client.get(f"{URL}/changes", params={"limit": 1}, headers=admin_headers)).json()
    assert (len(page["changes"]), page["has_more"]) == (1, True)


async def test_a_grid_override_changes_measured_carbon_and_not_other_regions(
        client: httpx.AsyncClient, admin_headers: dict[str, str],
        sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await ingest_ok(client, admin_headers, [
        job("g-1", provider="aws", region="eu-north-1", energy_kwh="10"),
        job("g-2", provider="aws", region="us-east-1", gpu_utilization="1")])
    assert await _kwh(client, admin_headers, "g-1") == ("10.000000", "0.088000")  # 10 kWh × 8.8 g
    # u = 1: 700 W × 32 h × 1.135 = 25,424 Wh; × 379.069 g = 9,637.450... g.
    assert await _kwh(client, admin_headers, "g-2") == ("25.424000", "9.637450")

    response = await _set(client, admin_headers, {"kind": "grid", "provider": "AWS", "region": " EU-North-1",
                                                  "g_co2e_per_kwh": "100"})
    assert response.status_code == 200, response.text
    assert (response.json()["set"][0]["provider"], response.json()["set"][0]["region"]) == ("aws", "eu-north-1")
    assert response.json()["recompute"]["jobs_read"] == 1
    # Measured energy stays 10 kWh; its carbon is 10 × 100 g = 1 kg.
    assert await _kwh(client, admin_headers, "g-1") == ("10.000000", "1.000000")
    assert await _kwh(client, admin_headers, "g-2") == ("25.424000", "9.637450")
    await assert_rollups_match(sessionmaker)


async def test_a_pue_override_for_a_provider_without_one_drops_the_default(
        client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    await ingest_ok(client, admin_headers, [job("p-1")])
    response = await _set(client, admin_headers, {"kind": "pue", "provider": TEST_PROVIDER, "pue": "1.2"})
    assert response.status_code == 200, response.text
    body = await job_body(client, admin_headers, "p-1")
    # 390.25 W × 32 h = 12,488 Wh × 1.2 = 14,985.6 Wh; × 480 g = 7,193.088 g; the PUE is no default any more.
    assert (body["energy"]["kwh"], body["energy"]["co2e_kg"]) == ("14.985600", "7.193088")
    assert body["energy"]["defaults_used"] == ["gpu_utilization", "region"]


async def test_a_job_ingested_after_an_override_uses_it(client: httpx.AsyncClient,
                                                        admin_headers: dict[str, str]) -> None:
    assert (await _set(client, admin_headers, H100_1000)).json()["recompute"]["jobs_read"] == 0
    await ingest_ok(client, admin_headers, [job("later-1")])
    assert await _kwh(client, admin_headers, "later-1") == (OVERRIDDEN_KWH, OVERRIDDEN_KG)


async def test_bad_figures_are_422_naming_the_field(client: httpx.AsyncClient,
                                                    admin_headers: dict[str, str]) -> None:
    cases = [
        ({"kind": "gpu", "gpu_type": "H100", "idle_watts": "500", "full_watts": "400"}, "full_watts"),
        ({"kind": "pue", "provider": "aws", "pue": "1.2345"}, "pue"),
        ({"kind": "pue", "provider": "aws", "pue": "0.9"}, "pue"),
        ({"kind": "pue", "provider": "aws", "pue": 1.5}, "pue"),
        ({"kind": "grid", "provider": "aws", "region": "x", "g_co2e_per_kwh": "-1"}, "g_co2e_per_kwh"),
        ({"kind": "grid", "provider": "aws", "g_co2e_per_kwh": "1"}, "region"),
    ]
    for override, field in cases:
        response = await _set(client, admin_headers, override)
        assert response.status_code == 422, (override, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert [e["loc"][-1] for e in response.json()["errors"]] == [field], (override, response.text)
    missing = await client.delete(URL, params={"kind": "grid", "provider": "aws"}, headers=admin_headers)
    assert missing.status_code == 422
    assert [e["loc"] for e in missing.json()["errors"]] == [["query", "region"]]
    assert (await client.get(f"{URL}/changes", headers=admin_headers)).json()["total"] == 0


async def test_roles(client: httpx.AsyncClient, admin_headers: dict[str, str], member_headers: dict[str, str],
                     sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    assert (await _set(client, member_headers, H100_1000)).status_code == 403
    assert (await _set(client, {}, H100_1000)).status_code == 401
    assert (await client.delete(URL, params={"kind": "gpu", "gpu_type": "H100"},
                                headers=member_headers)).status_code == 403
    assert (await client.get(f"{URL}/changes", headers=member_headers)).status_code == 403
    reader = token_headers((await create_read_token(sessionmaker, settings)).token)
    assert (await client.get(f"{API}/energy/coefficients", headers=reader)).status_code == 200
    assert (await _set(client, reader, H100_1000)).status_code == 403
    assert (await client.get(f"{API}/energy/coefficients", headers=member_headers)).status_code == 200
