"""Hand-made spend for the forecast and anomaly endpoints: one billed job per team and UTC day (10:00 to 11:00,
so all of its cost falls on that day), and the expected figures worked out here from the same patterns."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx

from tests.ingestion.conftest import ingest_ok, job

FORECAST = "/api/v1/analytics/forecast"
ANOMALIES = "/api/v1/analytics/anomalies"
# Monday … Sunday, USD: a week with quiet weekends.
VISION = (Decimal("100.50"), Decimal("120"), Decimal("110.25"), Decimal("100"), Decimal("90"), Decimal("30"),
          Decimal("10"))
AUDIO = (Decimal("7"), Decimal("7"), Decimal("7"), Decimal("7"), Decimal("7"), Decimal("3.5"), Decimal("3.5"))


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def day_job(team: str, day: date, cost: Decimal, suffix: str = "", model: str = "resnet50-ft",
            hours: tuple[int, int] = (10, 11)) -> dict[str, Any]:
    return job(f"{team}-{day.isoformat()}{suffix}", team=team, model_name=model, cost=str(cost),
               started_at=f"{day.isoformat()}T{hours[0]:02d}:00:00Z",
               ended_at=f"{day.isoformat()}T{hours[1]:02d}:00:00Z")


def pattern_jobs(team: str, first: date, last: date, cost: Callable[[date], Decimal]) -> list[dict[str, Any]]:
    return [day_job(team, day, cost(day)) for day in days(first, last) if cost(day)]


async def ingest(client: httpx.AsyncClient, headers: dict[str, str], jobs: Iterable[dict[str, Any]]) -> None:
    batch = list(jobs)
    for i in range(0, len(batch), 500):
        await ingest_ok(client, headers, batch[i:i + 500])


def usd(value: Decimal) -> str:
    return f"{value:.6f}"
