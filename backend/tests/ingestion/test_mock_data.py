"""The bundled demo batch: `POST /admin/ingest/jobs/mock`, what `app/data/mock_jobs.json` must cover, and the
snapshots of a few of its jobs worked out by hand (prices read from `app/data/gpu_prices.json`, not from the code)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models import CostSnapshot, Job, Team

MOCK = "/api/v1/admin/ingest/jobs/mock"
DATA = Path(__file__).resolve().parents[2] / "app" / "data"
GPU_HOUR_US = 3_600_000_000  # 1 GPU × 3,600,000 ms × 1000 milli-GPUs
HOUR_MS = 3_600_000

# DESIGN.md "Job record": the six statuses and the synonyms of each (compared case-folded, '-' and ' ' as '_').
STATUSES = {
    "queued": {"pending", "submitted", "waiting", "requeued", "scheduled"},
    "running": {"started", "in_progress", "active", "completing"},
    "succeeded": {"success", "successful", "completed", "complete", "done", "finished"},
    "failed": {"failure", "error", "errored", "timeout", "timed_out", "node_fail", "out_of_memory", "oom",
               "oom_killed", "boot_fail", "deadline"},
    "cancelled": {"canceled", "killed", "aborted", "revoked"},
    "preempted": {"evicted", "interrupted", "spot_interrupted"},
}

Sessions = async_sessionmaker[AsyncSession]


def mock_jobs() -> list[dict[str, Any]]:
    return json.loads((DATA / "mock_jobs.json").read_text(encoding="utf-8"))["jobs"]


def catalog() -> dict[str, Any]:
    return json.loads((DATA / "gpu_prices.json").read_text(encoding="utf-8"))


def canonical_status(raw: str) -> str:
    key = raw.strip().casefold().replace("-", "_").replace(" ", "_")
    for status, synonyms in STATUSES.items():
        if key == status or key in synonyms:
            return status
    raise AssertionError(f"unknown status {raw!r}")


def canonical_pair(record: dict[str, Any]) -> tuple[str, str]:
    aliases = catalog()["aliases"]
    provider = record["provider"].strip()
    gpu_type = record["gpu_type"].strip()
    provider_aliases = {k.strip().casefold(): v for k, v in aliases["provider"].items()}
    gpu_aliases = {k.strip().casefold(): v for k, v in aliases["gpu_type"].items()}
    return (provider_aliases.get(provider.casefold(), provider), gpu_aliases.get(gpu_type.casefold(), gpu_type))


def catalog_price(provider: str, gpu_type: str) -> Decimal:
    """The one catalog price of the pair, valid since 2020 (so in force all of January 2026)."""
    prices = [p for p in catalog()["prices"] if (p["provider"], p["gpu_type"]) == (provider, gpu_type)]
    assert len(prices) == 1, prices
    assert prices[0]["valid_from"] == "2020-01-01T00:00:00Z", prices[0]
    return Decimal(prices[0]["usd_per_gpu_hour"])


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


async def stored_jobs(sessionmaker: Sessions) -> dict[str, Job]:
    async with sessionmaker() as session:
        return {j.job_id: j for j in (await session.execute(select(Job))).scalars()}


async def snapshots(sessionmaker: Sessions, job_id: str) -> list[tuple[date, int, int, Decimal | None]]:
    async with sessionmaker() as session:
        rows = await session.execute(
            select(CostSnapshot.day, CostSnapshot.run_ms, CostSnapshot.gpu_us, CostSnapshot.cost)
            .join(Job, Job.id == CostSnapshot.job_pk).where(Job.job_id == job_id).order_by(CostSnapshot.day))
        return [tuple(r) for r in rows.all()]  # type: ignore[misc]


async def ingest_mock(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.post(MOCK, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


# --- the endpoint ---

async def test_the_mock_batch_is_created_once_then_unchanged(client, admin_headers, sessionmaker) -> None:
    first = await ingest_mock(client, admin_headers)

    assert first == {"received": 30, "created": 30, "updated": 0, "unchanged": 0, "superseded": 0, "failed": 0,
                     "teams_created": 3, "errors": [], "errors_omitted": 0}
    jobs = await stored_jobs(sessionmaker)
    assert len(jobs) == 30
    updated_at = {job_id: j.updated_at for job_id, j in jobs.items()}
    async with sessionmaker() as session:
        teams = set((await session.execute(select(Team.name))).scalars())
    assert teams == {"NLP Research", "Computer Vision", "ML Platform"}

    second = await ingest_mock(client, admin_headers)

    assert second == {"received": 30, "created": 0, "updated": 0, "unchanged": 30, "superseded": 0, "failed": 0,
                      "teams_created": 0, "errors": [], "errors_omitted": 0}
    assert {job_id: j.updated_at for job_id, j in (await stored_jobs(sessionmaker)).items()} == updated_at


# --- the file ---

def test_the_mock_file_covers_the_cases_the_demo_needs() -> None:
    jobs = mock_jobs()

    assert len(jobs) == 30
    assert len({j["job_id"] for j in jobs}) == 30
    assert {j["team"].strip().casefold() for j in jobs} == {"nlp research", "computer vision", "ml platform"}
    assert {canonical_status(j["status"]) for j in jobs} == set(STATUSES)
    assert any("cost" in j for j in jobs), "no billed job"
    assert any("started_at" in j and "ended_at" in j
               and instant(j["started_at"]).date() != instant(j["ended_at"]).date() for j in jobs), \
        "no job crosses a UTC midnight"
    assert any("ended_at" in j and instant(j["ended_at"]).date() == date(2026, 1, 15) for j in jobs), \
        "no job ends on 2026-01-15"
    running = [j for j in jobs if canonical_status(j["status"]) == "running"]
    assert len([j for j in running if "observed_at" in j]) == 1, running
    priced = {(p["provider"], p["gpu_type"]) for p in catalog()["prices"]}
    assert any("cost" not in j and j.get("gpu_type") and canonical_pair(j) not in priced for j in jobs), \
        "no job on a GPU type the catalog has no price for"
    for j in jobs:
        when = j.get("started_at") or j.get("submitted_at")
        assert when is not None, j
        assert date(2026, 1, 1) <= instant(when).date() <= date(2026, 1, 14), j


async def test_mock_jobs_without_a_catalog_price_are_unpriced(client, admin_headers, sessionmaker) -> None:
    priced = {(p["provider"], p["gpu_type"]) for p in catalog()["prices"]}
    unpriced = {j["job_id"] for j in mock_jobs()
                if "cost" not in j and j.get("gpu_type") and canonical_pair(j) not in priced}
    assert unpriced

    await ingest_mock(client, admin_headers)

    jobs = await stored_jobs(sessionmaker)
    assert {job_id for job_id, j in jobs.items() if j.cost_source == "unpriced"} == unpriced
    for job_id in unpriced:
        assert jobs[job_id].cost is None
        assert jobs[job_id].gpu_us > 0
    assert {j.status for j in jobs.values()} == set(STATUSES)


# --- snapshots of chosen jobs, by hand ---

async def test_an_estimated_job_over_three_days(client, admin_headers, sessionmaker) -> None:
    await ingest_mock(client, admin_headers)
    price = catalog_price("gcp", "A100-80GB")

    # vertex:llama3-70b-lora-7731: 8 × A100-80GB on gcp, 2026-01-05T18:00Z → 2026-01-07T06:00Z.
    # Jan 5: 18:00–24:00 = 6 h → 8 × 6 = 48 GPU-h; Jan 6: 24 h → 192 GPU-h; Jan 7: 00:00–06:00 = 6 h → 48 GPU-h.
    # With the catalog's 3.92808 USD/GPU-h: 48 × 3.92808 = 188.54784, 192 × 3.92808 = 754.19136,
    # total 288 × 3.92808 = 1131.28704 (exact at micro-USD, so no remainder to spread).
    day_hours = [(date(2026, 1, 5), 6), (date(2026, 1, 6), 24), (date(2026, 1, 7), 6)]
    for _, hours in day_hours:
        assert 8 * hours * price == (8 * hours * price).quantize(Decimal("0.000001"))
    expected = [(day, hours * HOUR_MS, 8 * hours * GPU_HOUR_US, 8 * hours * price) for day, hours in day_hours]

    assert await snapshots(sessionmaker, "vertex:llama3-70b-lora-7731") == expected
    stored = (await stored_jobs(sessionmaker))["vertex:llama3-70b-lora-7731"]
    assert stored.cost_source == "estimated"
    assert stored.cost == 288 * price
    assert stored.gpu_us == 288 * GPU_HOUR_US


async def test_a_billed_job_with_an_offset_spread_over_two_days(client, admin_headers, sessionmaker) -> None:
    await ingest_mock(client, admin_headers)

    # lambda:i-3f2a9c: billed 257.76, 2026-01-08T10:00+01:00 → 2026-01-09T04:00+01:00 = 09:00Z → 03:00Z (18 h).
    # Jan 8: 09:00–24:00 = 15 h → 257.76 × 15/18 = 214.80; Jan 9: 00:00–03:00 = 3 h → 257.76 × 3/18 = 42.96.
    # 8 GPUs: 120 and 24 GPU-h.
    assert await snapshots(sessionmaker, "lambda:i-3f2a9c") == [
        (date(2026, 1, 8), 15 * HOUR_MS, 120 * GPU_HOUR_US, Decimal("214.800000")),
        (date(2026, 1, 9), 3 * HOUR_MS, 24 * GPU_HOUR_US, Decimal("42.960000")),
    ]
    stored = (await stored_jobs(sessionmaker))["lambda:i-3f2a9c"]
    assert stored.cost_source == "billed"
    assert stored.cost == Decimal("257.76")
    assert stored.billed_cost == Decimal("257.76")
    assert (stored.provider, stored.gpu_type) == ("lambda", "A100-80GB")  # "Lambda Labs", "A100-SXM4-80GB"
    assert stored.started_at == datetime(2026, 1, 8, 9, tzinfo=UTC)
    assert stored.ended_at == datetime(2026, 1, 9, 3, tzinfo=UTC)


async def test_the_running_job_is_costed_up_to_its_observed_at(client, admin_headers, sessionmaker) -> None:
    await ingest_mock(client, admin_headers)
    price = catalog_price("aws", "H100")

    # sagemaker:llama3-8b-sft-0113: running, 8 × H100 on aws, from 2026-01-13T06:00Z, observed 2026-01-14T18:00Z.
    # Jan 13: 06:00–24:00 = 18 h; Jan 14: 00:00–18:00 = 18 h; 8 × 18 = 144 GPU-h a day.
    # With the catalog's 6.88 USD/GPU-h: 144 × 6.88 = 990.72 a day, 1981.44 in all.
    assert await snapshots(sessionmaker, "sagemaker:llama3-8b-sft-0113") == [
        (date(2026, 1, 13), 18 * HOUR_MS, 144 * GPU_HOUR_US, 144 * price),
        (date(2026, 1, 14), 18 * HOUR_MS, 144 * GPU_HOUR_US, 144 * price),
    ]
    stored = (await stored_jobs(sessionmaker))["sagemaker:llama3-8b-sft-0113"]
    assert stored.status == "running"
    assert stored.observed_at == datetime(2026, 1, 14, 18, tzinfo=UTC)
    assert stored.ended_at is None
    assert stored.cost_source == "estimated"
    assert stored.cost == 288 * price


async def test_an_unpriced_job_keeps_its_gpu_hours(client, admin_headers, sessionmaker) -> None:
    await ingest_mock(client, admin_headers)

    # ws-vision-01:1204: 2 × RTX-A6000 on-prem (no price), 2026-01-12T22:00Z → 2026-01-13T04:00Z.
    # Jan 12: 2 h × 2 GPUs = 4 GPU-h; Jan 13: 4 h × 2 = 8 GPU-h; 12 GPU-h in all, no cost.
    assert await snapshots(sessionmaker, "ws-vision-01:1204") == [
        (date(2026, 1, 12), 2 * HOUR_MS, 4 * GPU_HOUR_US, None),
        (date(2026, 1, 13), 4 * HOUR_MS, 8 * GPU_HOUR_US, None),
    ]
    stored = (await stored_jobs(sessionmaker))["ws-vision-01:1204"]
    assert stored.cost_source == "unpriced"
    assert stored.cost is None
    assert stored.gpu_us == 12 * GPU_HOUR_US


async def test_a_job_ending_on_january_15_has_a_snapshot_that_day(client, admin_headers, sessionmaker) -> None:
    await ingest_mock(client, admin_headers)
    price = catalog_price("aws", "H100")

    # sagemaker:llama3-8b-infer-0114: 4 × H100 on aws, 2026-01-14T20:00Z → 2026-01-15T04:00Z: 4 h on each day,
    # 4 × 4 = 16 GPU-h a day, × 6.88 = 110.08 a day.
    assert await snapshots(sessionmaker, "sagemaker:llama3-8b-infer-0114") == [
        (date(2026, 1, 14), 4 * HOUR_MS, 16 * GPU_HOUR_US, 16 * price),
        (date(2026, 1, 15), 4 * HOUR_MS, 16 * GPU_HOUR_US, 16 * price),
    ]
