"""Helpers for the FOCUS export tests: fetching the export, and the rows expected from the reference cost model
(tests/ingestion/reference.py), computed without the app's costing or formatting."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import httpx

from tests.analytics.conftest import hours_text, micros_text
from tests.ingestion.reference import reference_cost
from tests.ingestion.test_mock_totals import DATA

FOCUS = "/api/v1/export/focus"


async def fetch_export(client: httpx.AsyncClient, headers: dict[str, str], start: str, end: str) -> str:
    response = await client.get(FOCUS, params={"start": start, "end": end}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="jobcost-focus-1.2_{start}_{end}.csv"')
    return response.text


Expected = dict[tuple[str, date], tuple[str, str, str]]  # (job_id, day) → (cost, GPU-hours, cost source)


def expected_rows(jobs: list[dict[str, Any]], prices: dict[tuple[str, str], list[tuple[datetime, Decimal]]],
                  window: tuple[date, date], *, gpu_alias: dict[str, str] | None = None,
                  provider_alias: dict[str, str] | None = None) -> Expected:
    """What each row of the export must say, by the reference cost model: the day's cost (0 when unpriced), its
    GPU-hours and the job's cost source, for every job-day in `window`."""
    rows: Expected = {}
    for raw in jobs:
        gpu = (gpu_alias or {}).get(raw["gpu_type"].casefold(), raw["gpu_type"])
        provider = (provider_alias or {}).get(raw["provider"].casefold(), raw["provider"])
        start = datetime.fromisoformat(raw["started_at"]) if "started_at" in raw else None
        end_text = raw.get("ended_at") or raw.get("observed_at")
        end = datetime.fromisoformat(end_text) if start is not None and end_text else None
        billed = Decimal(raw["cost"]) if "cost" in raw else None
        rates = sorted(prices.get((provider, gpu), []))
        ref = reference_cost(start, end, Decimal(str(raw["gpu_count"])), billed, rates)
        for day in ref.days:
            if window[0] <= day.day <= window[1]:
                rows[(raw["job_id"], day.day)] = (micros_text(day.cost_micros or 0), hours_text(day.gpu_us),
                                                  ref.source)
    return rows


def mock_expected(window: tuple[date, date]) -> Expected:
    """`expected_rows` for the bundled mock jobs and catalog, read straight from the JSON files."""
    jobs = json.loads((DATA / "mock_jobs.json").read_text())["jobs"]
    catalog = json.loads((DATA / "gpu_prices.json").read_text())
    prices: dict[tuple[str, str], list[tuple[datetime, Decimal]]] = defaultdict(list)
    for p in catalog["prices"]:
        prices[(p["provider"], p["gpu_type"])].append(
            (datetime.fromisoformat(p["valid_from"]), Decimal(p["usd_per_gpu_hour"])))
    return expected_rows(jobs, prices, window,
                         gpu_alias={k.casefold(): v for k, v in catalog["aliases"]["gpu_type"].items()},
                         provider_alias={k.casefold(): v for k, v in catalog["aliases"]["provider"].items()})


def exported(rows: list[dict[str, str]]) -> Expected:
    """The export's rows in `Expected`'s shape (ResourceId is the job id; the charge period's day)."""
    found: Expected = {}
    for row in rows:
        key = (row["ResourceId"], date.fromisoformat(row["ChargePeriodStart"][:10]))
        assert key not in found, f"two rows for {key}"
        found[key] = (row["BilledCost"], row["PricingQuantity"], row["x_CostSource"])
    return found
