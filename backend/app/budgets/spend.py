"""A budget's figures for a period: actual spend from the daily team rollups (`daily_team_costs`, kept equal to the
cost snapshots by the ingestion writer), and the forecast from `app.forecasting` when it is installed."""

from __future__ import annotations

import importlib
import logging
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.aggregates import joined_sum
from app.db.models import DailyTeamCost
from app.db.types import micros_to_usd

logger = logging.getLogger("jobcost.budgets")


async def actual_micros(session: AsyncSession, team_ids: Collection[uuid.UUID] | None, start: date,
                        end: date) -> int:
    """Micro-USD spent on UTC days `start`..`end` (inclusive) by `team_ids` (None: every team), exactly as the
    analytics sum it: priced snapshots only; a running job counts the days it has accrued."""
    query = select(func.sum(DailyTeamCost.cost_hi), func.sum(DailyTeamCost.cost_lo)).where(
        DailyTeamCost.day >= start, DailyTeamCost.day <= end)
    if team_ids is not None:
        query = query.where(DailyTeamCost.team_id.in_(sorted(team_ids)))
    high, low = (await session.execute(query)).one()
    return joined_sum(high, low)


def usd(micros: int) -> Decimal:
    return micros_to_usd(micros)


@dataclass(frozen=True, slots=True)
class Forecast:
    """The forecast total of a period (USD) and its interval, as `app.forecasting` gives it."""

    expected_total: Decimal
    interval_low: Decimal
    interval_high: Decimal
    interval_level: Decimal
    method: str


def _forecasting() -> Any | None:
    try:
        return importlib.import_module("app.forecasting.service")
    except ModuleNotFoundError:
        return None


async def forecast(session: AsyncSession, period: str, team_ids: Collection[uuid.UUID] | None,
                   today: date) -> Forecast | None:
    """The period's forecast for `team_ids` (None: every team), or None when forecasting is not available (the
    package is absent) or fails: a budget's answer and its alerts never depend on it."""
    module = _forecasting()
    if module is None or not hasattr(module, "forecast_period"):
        return None
    try:
        result = await module.forecast_period(session, period=period,
                                              team_ids=None if team_ids is None else frozenset(team_ids),
                                              today=today)
    except Exception:  # forecasting is an addition: its failure leaves the budget's actual figures standing
        logger.exception("forecast for a %s budget failed; answering without it", period)
        return None
    return Forecast(Decimal(result.expected_total), Decimal(result.interval_low), Decimal(result.interval_high),
                    Decimal(getattr(result, "interval_level", "0.80")), str(result.method))


async def anomalies(session: AsyncSession, start: date, end: date) -> list[dict[str, Any]]:
    """The spend anomalies of UTC days `start`..`end` by team, from `app.forecasting` when it is installed (else
    none), as plain documents: `day`, `group` (the team's name, None when ungrouped), `actual`, `expected` (USD
    strings), `score`, `top_jobs`."""
    module = _forecasting()
    if module is None or not hasattr(module, "find_anomalies"):
        return []
    try:
        found = await module.find_anomalies(session, start=start, end=end, group_by="team", team_ids=None)
    except Exception:  # an addition: its failure must not stop the budgets' alerts
        logger.exception("finding anomalies failed; evaluating budgets without them")
        return []
    documents = []
    for anomaly in found:
        group = getattr(anomaly, "group", None)
        name = (group.get("team") or group.get("model")) if isinstance(group, dict) else group
        key = getattr(anomaly, "group_key", None)
        documents.append({
            "day": anomaly.day.isoformat(), "group": None if name is None else str(name),
            "group_key": None if key is None else str(key),
            "actual": f"{Decimal(anomaly.actual):f}", "expected": f"{Decimal(anomaly.expected):f}",
            "score": str(getattr(anomaly, "score", "")),
            "top_jobs": [str(getattr(job, "job_id", job)) for job in (getattr(anomaly, "top_jobs", None) or [])][:5]})
    return documents
