"""Forecasts of a month's or quarter's spend, and anomalous days of spend, for all teams or some.

Daily spend comes from the analytics query (`CostAnalyticsService.aggregate`, read from the daily rollups kept
equal to the cost snapshots): one query for the trailing history and the period, never job by job. A running job
counts as it accrues: its snapshots up to its `observed_at` are already in the rollups. The arithmetic is
`method.py` (forecast) and `anomaly.py` (detection); the jobs behind an anomaly come from the snapshots of that
day. Reads only; raises AppError subclasses.

`team_ids=None` means every team (an admin, or scope "all"); a set means only those teams (possibly none).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.analytics.query_schemas import CostQuery
from app.analytics.service import COST, CostAnalyticsService
from app.core.config import get_settings
from app.db.models import Job, Team
from app.db.models.cost_snapshot import CostSnapshot
from app.db.models.daily_cost import NONE_KEY
from app.db.types import micros_to_usd
from app.forecasting import anomaly, method
from app.teams.scope import TeamScope, within_teams

Period = Literal["month", "quarter"]
GroupBy = Literal["team", "model"]
INTERVAL_LEVEL = Decimal("0.80")
TOP_JOBS = 5


@dataclass(frozen=True, slots=True)
class PeriodForecast:
    """A period's forecast in USD (see `method.py` for how it is made)."""

    period: Period
    period_start: date
    period_end: date  # included
    as_of: date
    actual_to_date: Decimal
    daily_actual: list[tuple[date, Decimal]]
    daily_expected: list[tuple[date, Decimal]]
    expected_total: Decimal
    interval_low: Decimal
    interval_high: Decimal
    interval_level: Decimal
    method: str
    history_days: int


@dataclass(frozen=True, slots=True)
class TopJob:
    job_id: str
    team: str
    model_name: str | None
    cost: Decimal


@dataclass(frozen=True, slots=True)
class Anomaly:
    """A day of a group whose spend (USD) is far above the group's recent pattern (`anomaly.py`)."""

    day: date
    group_key: Any  # the team's id, the model's name ("" none: no model), or None when not grouped
    group: dict[str, str | None] | None  # the API's view: {team, team_id} or {model}, None when not grouped
    actual: Decimal
    expected: Decimal
    score: float
    top_jobs: list[TopJob] = field(default_factory=list)


def period_bounds(period: Period, day: date) -> tuple[date, date]:
    """The first and last UTC day of the calendar month or quarter holding `day`."""
    first_month = day.month if period == "month" else (day.month - 1) // 3 * 3 + 1
    start = date(day.year, first_month, 1)
    months = 1 if period == "month" else 3
    index = day.year * 12 + first_month - 1 + months
    return start, date(index // 12, index % 12 + 1, 1) - timedelta(days=1)


async def daily_series(session: AsyncSession, *, start: date, end: date, team_ids: Collection[uuid.UUID] | None,
                       group_by: GroupBy | None = None) -> dict[Any, dict[date, int]]:
    """Spend per UTC day in [start, end] (micro-USD; days without spend absent), per group key (the team's id or
    the model's key, `()`-less: the key itself; None when not grouped), in one analytics query."""
    if team_ids is not None and not team_ids:
        return {}
    query = CostQuery(start=start, end=end, step="day", group_by=[group_by] if group_by else [],
                      team_id=sorted(team_ids, key=str) if team_ids is not None else [])
    found = await CostAnalyticsService(session, TeamScope.everything()).aggregate(query)
    series: dict[Any, dict[date, int]] = {}
    for (day, key), sums in found.cells.items():
        if day is not None and sums[COST]:
            series.setdefault(key[0] if key else None, {})[day] = sums[COST]
    return series


async def forecast_period(session: AsyncSession, *, period: Period, team_ids: Collection[uuid.UUID] | None,
                          today: date | None = None) -> PeriodForecast:
    """The forecast of the calendar `period` holding `today` (default: today, UTC) for `team_ids`: actual spend
    per day up to and including `today`, expected spend per day after it, the expected total and its 80 %
    interval (USD)."""
    as_of = today or datetime.now(UTC).date()
    start, end = period_bounds(period, as_of)
    first = min(start, as_of - timedelta(days=method.LOOKBACK))
    series = (await daily_series(session, start=first, end=as_of, team_ids=team_ids)).get(None, {})
    result = method.forecast(series, period_start=start, period_end=end, as_of=as_of)
    actual = [(start + timedelta(days=i), micros_to_usd(series.get(start + timedelta(days=i), 0)))
              for i in range((as_of - start).days + 1)]
    return PeriodForecast(
        period=period, period_start=start, period_end=end, as_of=as_of,
        actual_to_date=micros_to_usd(result.actual_to_date), daily_actual=actual,
        daily_expected=[(day, micros_to_usd(value)) for day, value in result.expected],
        expected_total=micros_to_usd(result.expected_total), interval_low=micros_to_usd(result.interval_low),
        interval_high=micros_to_usd(result.interval_high), interval_level=INTERVAL_LEVEL, method=result.method,
        history_days=result.history_days)


async def _team_names(session: AsyncSession, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    rows = await session.execute(select(Team.id, Team.name).where(Team.id.in_(sorted(ids, key=str))))
    return {row.id: row.name for row in rows}


async def top_jobs(session: AsyncSession, *, day: date, group_by: GroupBy | None, key: Any,
                   team_ids: Collection[uuid.UUID] | None, limit: int = TOP_JOBS) -> list[TopJob]:
    """The jobs that spent the most on `day` within the group `key` of `group_by` and `team_ids` (from the cost
    snapshots: a job's share of that UTC day), cost descending then job_id."""
    stmt = (select(Job.job_id, Team.name, Job.model_name, CostSnapshot.cost)
            .join(Job, Job.id == CostSnapshot.job_pk).join(Team, Team.id == Job.team_id)
            .where(CostSnapshot.day == day, CostSnapshot.cost.is_not(None),
                   within_teams(Job.team_id, None if team_ids is None else frozenset(team_ids)))
            .order_by(CostSnapshot.cost.desc(), Job.job_id).limit(limit))
    if group_by == "team":
        stmt = stmt.where(Job.team_id == key)
    elif group_by == "model":
        stmt = stmt.where(Job.model_name.is_(None) if key == NONE_KEY else Job.model_name == key)
    rows = await session.execute(stmt)
    return [TopJob(job_id=r.job_id, team=r.name, model_name=r.model_name, cost=r.cost) for r in rows]


async def find_anomalies(session: AsyncSession, *, start: date, end: date, group_by: GroupBy | None,
                         team_ids: Collection[uuid.UUID] | None, threshold: float | None = None,
                         min_usd: Decimal | None = None) -> list[Anomaly]:
    """The days in [start, end] whose spend, per group of `group_by` (or in total), is a spike against the
    group's own trailing 28 days (`anomaly.py`), with the top 5 jobs of each; by day, then score descending.
    `threshold` and `min_usd` default to the settings `anomaly_threshold` and `anomaly_min_usd`."""
    if threshold is None:
        threshold = get_settings().anomaly_threshold
    if min_usd is None:
        min_usd = get_settings().anomaly_min_usd
    floor = int(min_usd * 1_000_000)
    groups = await daily_series(session, start=start - timedelta(days=anomaly.WINDOW), end=end, team_ids=team_ids,
                                group_by=group_by)
    flagged = [(key, flag) for key, series in groups.items()
               for flag in anomaly.detect(series, start=start, end=end, threshold=threshold, floor=floor)]
    names = await _team_names(session, [key for key, _ in flagged]) if group_by == "team" else {}
    found = []
    for key, flag in flagged:
        if group_by == "team":
            view: dict[str, str | None] | None = {"team": names.get(key), "team_id": str(key)}
        elif group_by == "model":
            view = {"model": None if key == NONE_KEY else key}
        else:
            view = None
        jobs = await top_jobs(session, day=flag.day, group_by=group_by, key=key, team_ids=team_ids)
        found.append(Anomaly(day=flag.day, group_key=key, group=view, actual=micros_to_usd(flag.actual),
                             expected=micros_to_usd(flag.expected), score=flag.score, top_jobs=jobs))
    found.sort(key=lambda a: (a.day, -a.score, str(a.group_key)))
    return found
