"""F14: sums of money and GPU time are exact, and agree between by-team, by-model and the job list; and sums past
the range of a 64-bit integer do not overflow on SQLite (where `sum()` over integers stops with "integer
overflow" past 2^63 − 1 = 9,223,372,036,854,775,807).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

import httpx

from tests.analytics.conftest import BY_MODEL, BY_TEAM, ENDPOINTS, by_name, report, totals
from tests.ingestion.conftest import ingest_ok, job

INT64_MAX = 2**63 - 1
TEAMS = ("vision", "nlp", "speech", "ranking")
MODELS = ("m-a", "m-b", "m-c", "m-d", "m-e")


async def ingest_all(client: httpx.AsyncClient, headers: dict[str, str], jobs: list[dict[str, Any]]) -> None:
    result = await ingest_ok(client, headers, jobs)
    assert (result["created"], result["failed"], result["errors"]) == (len(jobs), 0, []), result


async def all_jobs(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    """Every job through `GET /jobs`, page by page."""
    jobs: list[dict[str, Any]] = []
    while True:
        response = await client.get("/api/v1/jobs", params={"skip": len(jobs), "limit": 100}, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        jobs.extend(page["jobs"])
        if not page["has_more"]:
            assert len(jobs) == page["total"]
            return jobs


async def test_f14_800_costs_of_1234_5678_sum_exactly_everywhere(
        client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    # 800 × 1234.5678 = 987,654.24 exactly (a float sum drifts: 987650.7 in one SUM, 987652.7 over four groups).
    # Four teams of 200 jobs: 246,913.56 each. Five models of 160 jobs: 197,530.848 each. 8 GPUs × 4 h each:
    # 32 GPU-h a job, 25,600 GPU-h in all.
    await ingest_all(client, admin_headers, [
        job(f"m-{i:03d}", team=TEAMS[i % 4], model_name=MODELS[i % 5], cost="1234.5678") for i in range(800)])
    expected = ("987654.240000", "25600.000000", "0.000000", 800)

    teams = await report(client, admin_headers, BY_TEAM, start="2026-01-14", end="2026-01-14")
    models = await report(client, admin_headers, BY_MODEL, start="2026-01-14", end="2026-01-14")
    assert totals(teams) == expected
    assert totals(models) == expected
    assert by_name(teams) == {team: ("246913.560000", "6400.000000", "0.000000", 200) for team in TEAMS}
    assert by_name(models) == {model: ("197530.848000", "5120.000000", "0.000000", 160) for model in MODELS}
    for body in (teams, models):
        assert sum(Decimal(i["total_cost"]) for i in body["items"]) == Decimal("987654.24")
    # Unbounded windows give the same figures (every snapshot is on 2026-01-14).
    for endpoint in ENDPOINTS:
        assert totals(await report(client, admin_headers, endpoint)) == expected

    # The job list's costs add up to the same, in all and per team.
    listed = await all_jobs(client, admin_headers)
    assert len(listed) == 800
    assert sum(Decimal(j["cost"]) for j in listed) == Decimal("987654.24")
    per_team: dict[str, Decimal] = defaultdict(Decimal)
    for j in listed:
        assert j["cost"] == "1234.567800", j
        per_team[j["team"]["name"]] += Decimal(j["cost"])
    assert {name: f"{cost:.6f}" for name, cost in per_team.items()} == {
        name: figures[0] for name, figures in by_name(teams).items()}


async def test_costs_past_int64_do_not_overflow(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    # The largest billed cost is just under 10^12 USD: 999,999,999,999.999999 = 999,999,999,999,999,999 micro-USD.
    # Twelve of them on one day, one team, one model: 11,999,999,999,999,999,988 micro-USD, past 2^63 − 1, so a
    # plain SQLite SUM over the group fails. Plus one micro-USD on another team and model.
    biggest = "999999999999.999999"
    assert 12 * 999_999_999_999_999_999 > INT64_MAX
    await ingest_all(client, admin_headers, [
        *(job(f"whale-{i:02d}", team="whale", model_name="whale-model", cost=biggest) for i in range(12)),
        job("minnow", team="minnow", model_name="minnow-model", cost="0.000001"),
    ])
    # 13 jobs × 8 GPUs × 4 h = 416 GPU-h.
    expected = ("11999999999999.999989", "416.000000", "0.000000", 13)
    for endpoint, prefix, suffix in ((BY_TEAM, "", ""), (BY_MODEL, "", "-model")):
        for params in ({}, {"start": "2026-01-14", "end": "2026-01-14"}):
            body = await report(client, admin_headers, endpoint, **params)
            assert totals(body) == expected, (endpoint, params)
            assert by_name(body) == {
                f"{prefix}whale{suffix}": ("11999999999999.999988", "384.000000", "0.000000", 12),
                f"{prefix}minnow{suffix}": ("0.000001", "32.000000", "0.000000", 1),
            }, (endpoint, params)


async def test_gpu_time_past_int64_does_not_overflow(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    # The largest job: 100,000 GPUs for 366 days (2025-01-01 to 2026-01-02), unpriced (no cost, no H100 price on
    # the test provider). GPU time: 100,000,000 milli-GPUs × 31,622,400,000 ms = 3,162,240,000,000,000,000
    # GPU-µs a job; three of them, 9,486,720,000,000,000,000, pass 2^63 − 1, in the GPU sum and the unpriced one.
    # GPU-hours: 3 × 100,000 × 366 × 24 = 2,635,200,000; one day: 3 × 100,000 × 24 = 7,200,000.
    assert 3 * 100_000_000 * 366 * 86_400_000 > INT64_MAX
    await ingest_all(client, admin_headers, [
        job(f"huge-{i}", team="huge", model_name="huge-model", gpu_count=100000, cost=None,
            started_at="2025-01-01T00:00:00Z", ended_at="2026-01-02T00:00:00Z") for i in range(3)])
    for endpoint in ENDPOINTS:
        body = await report(client, admin_headers, endpoint)
        assert totals(body) == ("0.000000", "2635200000.000000", "2635200000.000000", 3), endpoint
        assert [i["gpu_hours"] for i in body["items"]] == ["2635200000.000000"]
        day = await report(client, admin_headers, endpoint, start="2025-06-01", end="2025-06-01")
        assert totals(day) == ("0.000000", "7200000.000000", "7200000.000000", 3), endpoint
        last = await report(client, admin_headers, endpoint, start="2026-01-01")
        assert totals(last) == ("0.000000", "7200000.000000", "7200000.000000", 3), endpoint
