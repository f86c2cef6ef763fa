"""Helpers for the analytics tests: fetching a report, and the expected 6-place strings worked out
independently of `app.core.money` (the admin's and member's headers are fixtures of tests/conftest.py).

Expected figures come from hand arithmetic or from `tests.ingestion.reference` (an independent cost model); the
rounding here uses `fractions.Fraction` and the reference's own half-even, never the app's helpers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction
from typing import Any

import httpx

from tests.ingestion.reference import ref_round_half_even

BY_TEAM = "/api/v1/analytics/cost/by-team"
BY_MODEL = "/api/v1/analytics/cost/by-model"
ENDPOINTS = (BY_TEAM, BY_MODEL)

# One GPU-hour is 3,600,000,000 GPU-microseconds (1 GPU × 3,600 s × 10^6 µs).
GPU_HOUR_US = 3_600_000_000
SIX = re.compile(r"^\d+\.\d{6}$")
REPORT_KEYS = {"start", "end", "currency", "total_cost", "total_gpu_hours", "unpriced_gpu_hours", "job_count",
               "items"}
FIGURE_KEYS = {"total_cost", "gpu_hours", "unpriced_gpu_hours", "job_count"}



def micros_text(micros: int) -> str:
    """Integer micro-USD as the API's 6-place string, by integer arithmetic (`1234500000` → `"1234.500000"`)."""
    assert micros >= 0
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def usd_text(amount: str | Decimal | Fraction) -> str:
    """An amount with at most 6 places (or an exact fraction, rounded half-even) as a 6-place string."""
    return micros_text(ref_round_half_even(Fraction(amount) * 1_000_000))


def hours_text(gpu_us: int | Fraction) -> str:
    """GPU-microseconds as GPU-hours, rounded half-even once to 6 places (a millionth of a GPU-hour is 3,600
    GPU-µs)."""
    return micros_text(ref_round_half_even(Fraction(gpu_us) / 3_600))


def check_report(body: dict[str, Any], endpoint: str) -> dict[str, Any]:
    """The report's shape: its keys, USD, every amount and GPU-hour figure a 6-place string (never a float),
    integer job counts, and item keys for the endpoint."""
    assert set(body) == REPORT_KEYS, body
    assert body["currency"] == "USD"
    for key in ("total_cost", "total_gpu_hours", "unpriced_gpu_hours"):
        assert isinstance(body[key], str) and SIX.match(body[key]), (key, body[key])
    assert isinstance(body["job_count"], int) and not isinstance(body["job_count"], bool)
    key_fields = {"team_id", "team_name"} if endpoint == BY_TEAM else {"model_name"}
    for item in body["items"]:
        assert set(item) == FIGURE_KEYS | key_fields, item
        for key in ("total_cost", "gpu_hours", "unpriced_gpu_hours"):
            assert isinstance(item[key], str) and SIX.match(item[key]), (key, item)
        assert isinstance(item["job_count"], int) and item["job_count"] >= 1, item
        # Unpriced GPU time is a part of the GPU time, never more.
        assert Decimal(item["unpriced_gpu_hours"]) <= Decimal(item["gpu_hours"]), item
    return body


async def report(client: httpx.AsyncClient, headers: dict[str, str], endpoint: str,
                 **params: str) -> dict[str, Any]:
    """GET a cost report (200 expected) and check its shape."""
    response = await client.get(endpoint, params=params, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return check_report(response.json(), endpoint)


def totals(body: dict[str, Any]) -> tuple[str, str, str, int]:
    """(total_cost, total_gpu_hours, unpriced_gpu_hours, job_count) of a report."""
    return body["total_cost"], body["total_gpu_hours"], body["unpriced_gpu_hours"], body["job_count"]


def figures(item: dict[str, Any]) -> tuple[str, str, str, int]:
    """(total_cost, gpu_hours, unpriced_gpu_hours, job_count) of an item."""
    return item["total_cost"], item["gpu_hours"], item["unpriced_gpu_hours"], item["job_count"]


def by_name(body: dict[str, Any]) -> dict[str | None, tuple[str, str, str, int]]:
    """Items keyed by team name or model name."""
    key = "team_name" if body["items"] and "team_name" in body["items"][0] else "model_name"
    return {item[key]: figures(item) for item in body["items"]}


def decimal_sum(values: Iterable[str]) -> Decimal:
    return sum((Decimal(v) for v in values), Decimal(0))


EMPTY = ("0.000000", "0.000000", "0.000000", 0)
