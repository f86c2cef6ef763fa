"""The FOCUS export of the demo data and of a generated month, checked against the FOCUS 1.2 column table
(`focus_spec.py`), row by row against the reference cost model, and in sum against the analytics reports."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from random import Random
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.csv_text import spreadsheet_text
from app.db.models import CostSnapshot
from app.export.service import FocusExportService
from app.teams.scope import TeamScope
from tests.analytics.conftest import BY_TEAM, report
from tests.export.conftest import expected_rows, exported, fetch_export, mock_expected
from tests.export.focus_spec import MANDATORY, check_focus_csv
from tests.ingestion.conftest import TEST_PROVIDER, add_price, ingest_ok, job

MOCK = "/api/v1/admin/ingest/jobs/mock"
COSTS = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost")


def _sums_by_team(rows: list[dict[str, str]]) -> dict[str, tuple[Decimal, Decimal]]:
    sums: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for row in rows:
        team = spreadsheet_text(row["SubAccountName"])
        sums[team][0] += Decimal(row["BilledCost"])
        sums[team][1] += Decimal(row["x_GpuHours"])
    return {team: (cost, hours) for team, (cost, hours) in sums.items()}


async def _check_against_analytics(client: httpx.AsyncClient, headers: dict[str, str], rows: list[dict[str, str]],
                                   start: str, end: str) -> None:
    """Costs sum exactly to the by-team report (every team and the total); GPU-hours, rounded per row, to within
    half a millionth per row."""
    body = await report(client, headers, BY_TEAM, start=start, end=end)
    sums = _sums_by_team(rows)
    assert set(sums) == {item["team_name"] for item in body["items"]}
    for item in body["items"]:
        cost, hours = sums[item["team_name"]]
        assert cost == Decimal(item["total_cost"]), item["team_name"]
        assert abs(hours - Decimal(item["gpu_hours"])) <= Decimal("0.0000005") * len(rows)
    assert sum(Decimal(r["BilledCost"]) for r in rows) == Decimal(body["total_cost"])


def _check_row_values(rows: list[dict[str, str]]) -> None:
    """What every row says, whatever its job: the four costs equal, USD, Usage, GPU-Hours, the day as the charge
    period and its calendar month as the billing period, Tags holding team and model."""
    for row in rows:
        assert len({row[c] for c in COSTS}) == 1, row
        assert (row["BillingCurrency"], row["ChargeCategory"], row["ChargeClass"]) == ("USD", "Usage", "")
        assert (row["PricingUnit"], row["ConsumedUnit"]) == ("GPU-Hours", "GPU-Hours")
        assert row["PricingQuantity"] == row["ConsumedQuantity"] == row["x_GpuHours"]
        assert row["ServiceCategory"] == "AI and Machine Learning"
        day = date.fromisoformat(row["ChargePeriodStart"][:10])
        assert row["ChargePeriodStart"] == f"{day}T00:00:00Z"
        assert row["ChargePeriodEnd"] == f"{day + timedelta(days=1)}T00:00:00Z"
        month = day.replace(day=1)
        next_month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        assert (row["BillingPeriodStart"], row["BillingPeriodEnd"]) == (f"{month}T00:00:00Z",
                                                                        f"{next_month}T00:00:00Z")
        tags = json.loads(row["Tags"])
        # Cells a spreadsheet would run as formulas carry a leading `'`; Tags (JSON, starting `{`) never do.
        assert tags["team"] == spreadsheet_text(row["SubAccountName"]) == spreadsheet_text(row["x_Team"])
        assert tags.get("model", "") == spreadsheet_text(row["x_Model"])
        if row["x_CostSource"] == "unpriced":
            assert row["BilledCost"] == "0.000000"


async def _snapshot_count(session: AsyncSession, start: date, end: date) -> int:
    return (await session.execute(select(func.count()).select_from(CostSnapshot)
                                  .where(CostSnapshot.day.between(start, end)))).scalar_one()


async def test_demo_export_conforms_to_focus_and_matches_the_reference(
        client: httpx.AsyncClient, admin_headers: dict[str, str], session: AsyncSession) -> None:
    assert (await client.post(MOCK, headers=admin_headers)).status_code == 200
    text = await fetch_export(client, admin_headers, "2026-01-01", "2026-01-14")
    rows = check_focus_csv(text)
    header = text.split("\r\n", 1)[0].split(",")
    assert set(MANDATORY) <= set(header) and len(MANDATORY) == 21
    assert rows and len(rows) == await _snapshot_count(session, date(2026, 1, 1), date(2026, 1, 14))
    assert exported(rows) == mock_expected((date(2026, 1, 1), date(2026, 1, 14)))
    _check_row_values(rows)
    # The demo's unpriced on-prem RTX-A6000 jobs are exported with 0 USD and their GPU-hours (2 × 12 h + 2 × 6 h).
    unpriced = [r for r in rows if r["x_CostSource"] == "unpriced"]
    assert sum(Decimal(r["x_GpuHours"]) for r in unpriced) == Decimal(36)
    await _check_against_analytics(client, admin_headers, rows, "2026-01-01", "2026-01-14")
    # Ordered by day.
    days = [r["ChargePeriodStart"] for r in rows]
    assert days == sorted(days)


def _generated_month(seed: int = 15, count: int = 160) -> list[dict[str, Any]]:
    """Jobs starting from 26 February to 31 March 2026, running 5 minutes to 3 days (so some cross into the
    window, some out of it), on H100 (priced), A100 (priced, repriced on 15 March) and L4 (no price: unpriced
    unless billed); a fifth billed; some without a model; a few failed."""
    rng = Random(seed)
    teams = ["vision", "nlp", "speech", "=Formula Team"]
    models = ["resnet50", "llama-3-8b", "whisper", None]
    jobs = []
    origin = datetime(2026, 2, 26, tzinfo=UTC)
    for n in range(count):
        start = origin + timedelta(minutes=rng.randrange(0, 34 * 24 * 60))
        end = start + timedelta(minutes=rng.randrange(5, 3 * 24 * 60))
        jobs.append(job(f"gen-{n:04d}", team=rng.choice(teams), model_name=rng.choice(models),
                        gpu_type=rng.choice(["H100", "A100", "L4"]), gpu_count=rng.choice([1, 2, 4, 8]),
                        started_at=start.isoformat().replace("+00:00", "Z"),
                        ended_at=end.isoformat().replace("+00:00", "Z"),
                        status=rng.choice(["COMPLETED"] * 6 + ["FAILED"]),
                        cost=f"{rng.randrange(100, 500_000) / 100:.2f}" if rng.random() < 0.2 else None))
    return jobs


GEN_PRICES = {
    (TEST_PROVIDER, "H100"): [(datetime(2020, 1, 1, tzinfo=UTC), Decimal("3.50"))],
    (TEST_PROVIDER, "A100"): [(datetime(2020, 1, 1, tzinfo=UTC), Decimal("2.10")),
                              (datetime(2026, 3, 15, 12, tzinfo=UTC), Decimal("1.90"))],
}


async def _load_generated(client: httpx.AsyncClient, headers: dict[str, str],
                          sessionmaker: async_sessionmaker[AsyncSession]) -> list[dict[str, Any]]:
    for (_, gpu), rates in GEN_PRICES.items():
        for valid_from, price in rates:
            await add_price(sessionmaker, gpu, str(price), valid_from=valid_from)
    jobs = _generated_month()
    result = await ingest_ok(client, headers, jobs)
    assert result["created"] == len(jobs), result
    return jobs


async def test_generated_month_export_conforms_to_focus_and_matches_the_reference(
        client: httpx.AsyncClient, admin_headers: dict[str, str], session: AsyncSession,
        sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    jobs = await _load_generated(client, admin_headers, sessionmaker)
    text = await fetch_export(client, admin_headers, "2026-03-01", "2026-03-31")
    rows = check_focus_csv(text)
    want = expected_rows(jobs, GEN_PRICES, (date(2026, 3, 1), date(2026, 3, 31)))
    assert {source for *_, source in want.values()} == {"billed", "estimated", "unpriced"}
    assert exported(rows) == want
    assert len(rows) == await _snapshot_count(session, date(2026, 3, 1), date(2026, 3, 31))
    _check_row_values(rows)
    await _check_against_analytics(client, admin_headers, rows, "2026-03-01", "2026-03-31")
    # A team name a spreadsheet would run as a formula is defused, as in every jobcost CSV.
    assert {r["SubAccountName"] for r in rows if "Formula" in r["SubAccountName"]} == {"'=Formula Team"}


async def test_batches_follow_each_other_without_gaps_or_repeats(
        client: httpx.AsyncClient, admin_headers: dict[str, str], session: AsyncSession,
        sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await _load_generated(client, admin_headers, sessionmaker)
    export = await FocusExportService(session, TeamScope.everything()).export(date(2026, 3, 1), date(2026, 3, 31))
    whole = [row async for batch in export.batches(sessionmaker, size=100_000) for row in batch]
    sizes, small = [], []
    async for batch in export.batches(sessionmaker, size=7):
        sizes.append(len(batch))
        small += batch
    assert small == whole and len(whole) > 7 * 3
    assert all(size == 7 for size in sizes[:-1]) and 0 < sizes[-1] <= 7
    # Exactly the window's days: a job running from February into March contributes its March days only.
    assert min(r.day for r in whole) == date(2026, 3, 1) and max(r.day for r in whole) == date(2026, 3, 31)


async def test_a_window_without_costs_is_the_header_alone(client: httpx.AsyncClient,
                                                          admin_headers: dict[str, str]) -> None:
    text = await fetch_export(client, admin_headers, "2030-01-01", "2030-01-31")
    assert check_focus_csv(text) == []
    assert text.count("\r\n") == 1
