"""Energy figures written with a job, read back per job, per day and through the analytics query, and recomputed
when the coefficients change; every figure worked out by hand in the comments (CCF's and the defaults' numbers,
`backend/app/data/energy_coefficients.json`)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.energy import coefficients as coefficients_module
from app.energy import overrides as overrides_module
from app.energy.coefficients import default_coefficients
from app.energy.recompute import recompute_energy
from app.ingestion import writer
from tests.analytics.test_rollups import assert_rollups_match
from tests.ingestion.conftest import ingest_ok, job
from tests.recost.conftest import ingest

API = "/api/v1"
# 8 H100s for 4 h (32 GPU-hours) on the test provider (no PUE of its own, no region), utilisation unknown:
# 80.5 + 0.5 × (700 − 80.5) = 390.25 W; × 32 h = 12,488 Wh; × PUE 1.58 (default) = 19,731.04 Wh.
# Carbon at the world-average 480 g/kWh: 19.73104 × 480 = 9,470.8992 g.
H100_KWH, H100_KG = "19.731040", "9.470899"
# The same on aws (PUE 1.135) in us-west-2 (322.167 g/kWh): 12,488 × 1.135 = 14,173.88 Wh;
# 14.17388 × 322.167 = 4,566.35646... g.
AWS_KWH, AWS_KG = "14.173880", "4.566356"


async def job_body(client: httpx.AsyncClient, headers: dict[str, str], job_id: str,
                   **params: str) -> dict[str, Any]:
    response = await client.get(f"{API}/jobs/{job_id}", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_an_estimate_is_stored_with_the_job_and_names_its_defaults(
        client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    await ingest_ok(client, admin_headers, [job("e-1")])
    body = await job_body(client, admin_headers, "e-1")
    assert body["energy"] == {"kwh": H100_KWH, "co2e_kg": H100_KG, "source": "estimated",
                              "defaults_used": ["gpu_utilization", "pue", "region"],
                              "idle_gpu_hours": None, "idle_cost": None}


async def test_a_known_provider_uses_its_pue_and_the_job_lists_its_days(
        client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    # 20:00 → 00:00 and 00:00 → 00:00 + ... : 4 h split 2 h / 2 h over two days, so each day holds half.
    record = job("e-2", provider="aws", started_at="2026-01-14T22:00:00Z", ended_at="2026-01-15T02:00:00Z")
    await ingest_ok(client, admin_headers, [record])
    body = await job_body(client, admin_headers, "e-2", include="snapshots")
    # aws's PUE, but no region: the world-average intensity: 14.17388 × 480 = 6,803.4624 g.
    assert body["energy"]["kwh"] == AWS_KWH
    assert body["energy"]["co2e_kg"] == "6.803462"
    assert body["energy"]["defaults_used"] == ["gpu_utilization", "region"]
    assert [(s["day"], s["energy_kwh"], s["co2e_kg"]) for s in body["snapshots"]] == [
        ("2026-01-14", "7.086940", "3.401731"), ("2026-01-15", "7.086940", "3.401731")]
    assert all(s["idle_gpu_hours"] == "0.000000" and s["idle_cost"] == "0.000000" for s in body["snapshots"])


async def test_the_analytics_query_sums_the_figures_per_group_and_scopes_members(
        client: httpx.AsyncClient, admin_headers: dict[str, str], member_headers: dict[str, str],
        sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await ingest_ok(client, admin_headers, [job("v-1"), job("v-2", started_at="2026-01-13T08:00:00Z",
                                                                 ended_at="2026-01-13T12:00:00Z"),
                                            job("n-1", team="nlp")])
    await assert_rollups_match(sessionmaker)
    params = {"start": "2026-01-01", "end": "2026-01-31", "group_by": "team", "step": "day"}
    admin = (await client.get(f"{API}/analytics/cost", params=params, headers=admin_headers)).json()
    # Three identical jobs: 3 × 19.73104 kWh, 3 × 9,470.8992 g (each job rounded to the mg first: 9,470,899).
    assert admin["totals"]["energy_kwh"] == "59.193120"
    assert admin["totals"]["co2e_kg"] == "28.412697"
    assert admin["totals"]["energy_measured_kwh"] == "0.000000"
    assert admin["totals"]["idle_gpu_hours"] == "0.000000"
    assert admin["totals"]["utilization_known_gpu_hours"] == "0.000000"
    by_row = {(r["period_start"], r["group"]["team"]): r["energy_kwh"] for r in admin["rows"]}
    assert by_row == {("2026-01-13", "vision"): H100_KWH, ("2026-01-14", "vision"): H100_KWH,
                      ("2026-01-14", "nlp"): H100_KWH}
    member = (await client.get(f"{API}/analytics/cost", params=params, headers=member_headers)).json()
    assert member["totals"]["energy_kwh"] == "39.462080"  # vision's two jobs only
    csv = await client.get(f"{API}/analytics/cost", params={**params, "format": "csv"}, headers=admin_headers)
    header = csv.text.splitlines()[0].split(",")
    assert header[-7:] == ["energy_kwh", "energy_measured_kwh", "co2e_kg", "co2e_measured_kg", "idle_gpu_hours",
                           "idle_cost", "utilization_known_gpu_hours"]


async def test_resending_an_unchanged_job_writes_nothing(client: httpx.AsyncClient,
                                                         admin_headers: dict[str, str]) -> None:
    await ingest_ok(client, admin_headers, [job("same-1")])
    assert (await ingest_ok(client, admin_headers, [job("same-1")]))["unchanged"] == 1


@pytest.fixture
def h100_at_1000_watts(monkeypatch: pytest.MonkeyPatch) -> None:
    """The coefficients in force give H100s 100 W idle and 1000 W at full load (as an admin's change would)."""
    shipped = default_coefficients()
    changed = replace(shipped, gpus={**shipped.gpus, "H100": replace(shipped.gpus["H100"], idle_mw=100_000,
                                                                     full_mw=1_000_000)})
    monkeypatch.setattr(writer, "default_coefficients", lambda: changed)
    monkeypatch.setattr(coefficients_module, "default_coefficients", lambda: changed)
    monkeypatch.setattr(overrides_module, "default_coefficients", lambda: changed)


async def stored_energy(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, tuple[Any, ...]]:
    async with sessionmaker() as session:
        rows = (await session.execute(text(
            "SELECT job_id, energy_used_mwh, co2e_mg, energy_source, cost_micros FROM jobs"))).all()
    return {row[0]: tuple(row[1:]) for row in rows}


async def test_a_coefficient_change_is_recomputed_through_the_write_path(
        sessionmaker: async_sessionmaker[AsyncSession], request: pytest.FixtureRequest) -> None:
    await ingest(sessionmaker, [job("r-1"), job("r-2", gpu_type="A100-80GB", gpu_count=1)])
    before = await stored_energy(sessionmaker)
    assert before["r-1"] == (19_731_040, 9_470_899, "estimated", 64_000_000)
    request.getfixturevalue("h100_at_1000_watts")

    report = await recompute_energy(sessionmaker, gpu_type="H100")

    # 100 + 0.5 × 900 = 550 W × 32 h = 17,600 Wh × 1.58 = 27,808 Wh; × 480 g/kWh = 13,347.84 g.
    after = await stored_energy(sessionmaker)
    assert after["r-1"] == (27_808_000, 13_347_840, "estimated", 64_000_000)  # the billed cost stays
    assert after["r-2"] == before["r-2"]  # not an H100: not read
    assert (report.jobs_read, report.jobs_rewritten) == (1, 1)
    assert (report.energy_before_mwh, report.energy_after_mwh) == (19_731_040, 27_808_000)
    await assert_rollups_match(sessionmaker)
    again = await recompute_energy(sessionmaker)
    assert (again.jobs_read, again.jobs_rewritten) == (2, 0)  # idempotent


async def test_jobs_stored_before_the_figures_are_computed_by_the_missing_recompute(
        sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await ingest(sessionmaker, [job("old-1"), job("old-2")])
    async with sessionmaker() as session:  # as migration 0013 leaves a job stored before it
        await session.execute(text(
            "UPDATE jobs SET energy_used_mwh = NULL, co2e_mg = NULL, energy_source = NULL, "
            "content_hash = 'stored-before-0013' WHERE job_id = 'old-1'"))
        await session.commit()
    report = await recompute_energy(sessionmaker, missing_only=True)
    assert (report.jobs_read, report.jobs_rewritten) == (1, 1)
    assert (await stored_energy(sessionmaker))["old-1"] == (19_731_040, 9_470_899, "estimated", 64_000_000)


async def test_measured_energy_beats_the_estimate_and_known_utilisation_gives_idle_figures(
        client: httpx.AsyncClient, admin_headers: dict[str, str], member_headers: dict[str, str],
        sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    measured = job("m-1", provider="aws", region="EU-North-1 ", energy_kwh="10", gpu_utilization="0.75",
                   started_at="2026-01-14T23:00:00Z", ended_at="2026-01-15T02:00:00Z")
    # 2 A100s for 10 h at u = 0.75 on aws us-east-1, cost $80 billed: 46 + 0.75 × 361 = 316.75 W × 20 h × 1.135
    # = 7,190.225 Wh; × 379.069 g/kWh = 2,725.5914... g; idle 20 × 0.25 = 5 GPU-hours, $80 × 0.25 = $20.
    estimated = job("u-1", team="nlp", provider="aws", region="us-east-1", gpu_type="A100-80GB", gpu_count=2,
                    gpu_utilization="0.75", cost="80", started_at="2026-01-14T08:00:00Z",
                    ended_at="2026-01-14T18:00:00Z")
    await ingest_ok(client, admin_headers, [measured, estimated])
    await assert_rollups_match(sessionmaker)

    m = await job_body(client, admin_headers, "m-1", include="snapshots")
    # 10 kWh as measured (no PUE), in eu-north-1 (8.8 g/kWh): 88 g; 1 h and 2 h: 3.333333 / 6.666667 kWh.
    # Idle: 8 GPUs × 3 h × 0.25 = 6 GPU-hours; $64 × 0.25 = $16.
    assert m["energy"] == {"kwh": "10.000000", "co2e_kg": "0.088000", "source": "measured", "defaults_used": [],
                           "idle_gpu_hours": "6.000000", "idle_cost": "16.000000"}
    assert [(s["energy_kwh"], s["co2e_kg"], s["idle_gpu_hours"], s["idle_cost"]) for s in m["snapshots"]] == [
        ("3.333333", "0.029333", "2.000000", "5.333333"), ("6.666667", "0.058667", "4.000000", "10.666667")]
    u = await job_body(client, admin_headers, "u-1")
    assert u["energy"] == {"kwh": "7.190225", "co2e_kg": "2.725591", "source": "estimated", "defaults_used": [],
                           "idle_gpu_hours": "5.000000", "idle_cost": "20.000000"}

    params = {"start": "2026-01-14", "end": "2026-01-15"}
    totals = (await client.get(f"{API}/analytics/cost", params=params, headers=admin_headers)).json()["totals"]
    assert (totals["energy_kwh"], totals["energy_measured_kwh"]) == ("17.190225", "10.000000")
    assert (totals["co2e_kg"], totals["co2e_measured_kg"]) == ("2.813591", "0.088000")
    assert (totals["idle_gpu_hours"], totals["idle_cost"]) == ("11.000000", "36.000000")
    assert totals["utilization_known_gpu_hours"] == "44.000000"  # 24 + 20: both jobs report it
    # The member of vision sees m-1 only.
    mine = (await client.get(f"{API}/analytics/cost", params=params, headers=member_headers)).json()["totals"]
    assert (mine["energy_kwh"], mine["energy_measured_kwh"], mine["idle_cost"]) == (
        "10.000000", "10.000000", "16.000000")


async def test_an_unknown_region_of_a_known_provider_is_flagged(client: httpx.AsyncClient,
                                                                 admin_headers: dict[str, str]) -> None:
    await ingest_ok(client, admin_headers, [job("r-x", provider="aws", region="mars-1", gpu_utilization="1")])
    body = await job_body(client, admin_headers, "r-x")
    # u = 1: 700 W × 32 h × 1.135 = 25,424 Wh; × 480 g = 12,203.52 g. No idle time.
    assert body["energy"] == {"kwh": "25.424000", "co2e_kg": "12.203520", "source": "estimated",
                              "defaults_used": ["region"], "idle_gpu_hours": "0.000000", "idle_cost": "0.000000"}
