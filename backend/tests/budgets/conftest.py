"""Helpers for the budget tests: a fixed "today" (20 January 2026) so that the current month is January 2026 and
its quarter Q1 2026, and job records with billed costs chosen so every figure can be added up by hand."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from app.budgets import service as budget_service
from app.budgets import spend

API = "/api/v1"
TODAY = date(2026, 1, 20)


@pytest.fixture(autouse=True)
def _fixed_today(monkeypatch: pytest.MonkeyPatch) -> date:
    monkeypatch.setattr(budget_service, "today", lambda: TODAY)
    return TODAY


@pytest.fixture(autouse=True)
def _without_forecasting(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Budgets judged on actual spend alone, so each test knows when each alert fires; the tests of forecast
    alerts bring their own forecast (a stub), or the real one (marked `real_forecast`)."""
    if not request.node.get_closest_marker("real_forecast"):
        monkeypatch.setattr(spend, "_forecasting", lambda: None)


def day_job(job_id: str, team: str, day: str, cost: str, **fields: Any) -> dict[str, Any]:
    """A finished job of `team` on UTC day `day` (10:00 to 12:00) with billed `cost` USD: all of it on that day."""
    record: dict[str, Any] = {"job_id": job_id, "team": team, "model_name": "m", "gpu_type": "H100", "gpu_count": 1,
                              "provider": "testcloud", "status": "COMPLETED", "started_at": f"{day}T10:00:00Z",
                              "ended_at": f"{day}T12:00:00Z", "cost": cost}
    record.update(fields)
    return record
