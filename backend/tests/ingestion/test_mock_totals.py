"""The mock data's cost and GPU-hours for 1–14 January 2026, by team and by model, as the snapshots give them,
against the reference cost model (tests/ingestion/reference.py) run straight on the two JSON files.

The reference reads `mock_jobs.json` and `gpu_prices.json` itself: statuses, timestamps, aliases and prices are
resolved here with plain code, so the service's normalisation and costing are checked, not reused.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import CostSnapshot, Job, Team
from tests.ingestion.reference import reference_cost

DATA = Path(__file__).resolve().parents[2] / "app" / "data"
WINDOW = (date(2026, 1, 1), date(2026, 1, 14))
US_PER_HOUR = Decimal(3_600_000_000)


def _reference_totals() -> dict[str, dict[str | None, list[Any]]]:
    """{"team"|"model": {name: [cost micro-USD, GPU-µs, unpriced GPU-µs, job ids]}} over the window."""
    jobs = json.loads((DATA / "mock_jobs.json").read_text())["jobs"]
    catalog = json.loads((DATA / "gpu_prices.json").read_text())
    gpu_alias = {k.casefold(): v for k, v in catalog["aliases"]["gpu_type"].items()}
    provider_alias = {k.casefold(): v for k, v in catalog["aliases"]["provider"].items()}
    prices: dict[tuple[str, str], list[tuple[datetime, Decimal]]] = defaultdict(list)
    for p in catalog["prices"]:
        prices[(p["provider"], p["gpu_type"])].append(
            (datetime.fromisoformat(p["valid_from"]), Decimal(p["usd_per_gpu_hour"])))

    totals: dict[str, dict[str | None, list[Any]]] = {"team": {}, "model": {}}
    for raw in jobs:
        gpu = gpu_alias.get(raw["gpu_type"].casefold(), raw["gpu_type"])
        provider = provider_alias.get(raw["provider"].casefold(), raw["provider"])
        start = datetime.fromisoformat(raw["started_at"]) if "started_at" in raw else None
        end_text = raw.get("ended_at") or raw.get("observed_at")
        end = datetime.fromisoformat(end_text) if start is not None and end_text else None
        billed = Decimal(raw["cost"]) if "cost" in raw else None
        ref = reference_cost(start, end, Decimal(str(raw["gpu_count"])), billed,
                             sorted(prices.get((provider, gpu), [])))
        for key, name in (("team", raw["team"]), ("model", raw["model_name"])):
            for day in ref.days:
                if WINDOW[0] <= day.day <= WINDOW[1]:
                    row = totals[key].setdefault(name, [0, 0, 0, set()])
                    row[0] += day.cost_micros or 0
                    row[1] += day.gpu_us
                    row[2] += day.gpu_us if day.cost_micros is None else 0
                    row[3].add(raw["job_id"])
    return totals


async def _stored_totals(session: AsyncSession, key: Any) -> dict[str | None, tuple[Decimal, int, int, int]]:
    unpriced = func.sum(func.coalesce(CostSnapshot.gpu_us, 0)).filter(CostSnapshot.cost.is_(None))
    rows = await session.execute(
        select(key, func.sum(CostSnapshot.cost), func.sum(CostSnapshot.gpu_us), unpriced,
               func.count(func.distinct(Job.id)))
        .join(Job, Job.id == CostSnapshot.job_pk).join(Team, Team.id == Job.team_id)
        .where(CostSnapshot.day.between(*WINDOW)).group_by(key))
    return {name: (cost or Decimal(0), int(us), int(unpriced_us or 0), n) for name, cost, us, unpriced_us, n in rows}


async def test_mock_totals_by_team_and_model_match_the_reference(
        client: httpx.AsyncClient, admin_headers: dict[str, str], session: AsyncSession) -> None:
    response = await client.post("/api/v1/admin/ingest/jobs/mock", headers=admin_headers)
    assert response.status_code == 200, response.text
    expected = _reference_totals()
    for key, column in (("team", Team.name), ("model", Job.model_name)):
        stored = await _stored_totals(session, column)
        want = {name: (Decimal(cost) / 1_000_000, us, unpriced_us, len(ids))
                for name, (cost, us, unpriced_us, ids) in expected[key].items()}
        assert stored == want, key

    # Beside the per-group checks, the shape the closing note relies on: 3 teams, 28 jobs with run time in the
    # window (the queued job and the one cancelled before it started never ran), unpriced GPU time on one team.
    teams = expected["team"]
    assert len(teams) == 3
    assert sum(len(row[3]) for row in teams.values()) == 28
    assert [name for name, row in teams.items() if row[2]] == ["Computer Vision"]
    assert sum(row[2] for row in teams.values()) / US_PER_HOUR == Decimal(36)  # 2 × 12 h + 2 × 6 h of RTX-A6000
