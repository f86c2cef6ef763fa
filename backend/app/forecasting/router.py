"""`/analytics/forecast` and `/analytics/anomalies`: where this month's or quarter's spend is heading, and the days
whose spend broke from its pattern."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from app.api.deps import ScopeDep, SessionDep, SettingsDep, single_valued_query
from app.api.errors import error_responses, problem_body
from app.forecasting import service
from app.forecasting.schemas import (
    Anomaly,
    AnomalyQuery,
    AnomalyReport,
    DayCost,
    ForecastQuery,
    ForecastReport,
    TopJob,
)

router = APIRouter(prefix="/analytics", tags=["analytics"])

_403 = problem_body(403, "forbidden", "Forbidden",
                    "You can read only your own teams' jobs and costs; team is not one of them")


def _responses(fields: str, example: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    return error_responses(401, 403, 422, 503, descriptions={
        403: "A member asked for a team (`team_id` or `team`) it does not belong to, or an ingest API token",
        422: fields}, examples={403: _403, 422: example})


@router.get(
    "/forecast", summary="Forecast of this month's or quarter's spend", response_model=ForecastReport,
    dependencies=[single_valued_query()],
    responses=_responses(
        "`period` not month or quarter, `as_of` not a YYYY-MM-DD date or outside 1970-01-01 to 9000-12-31, a "
        "parameter given twice, or an unknown one",
        problem_body(422, "validation-error", "Validation error", "Invalid request: query.period", errors=[
            {"loc": ["query", "period"], "msg": "Input should be 'month' or 'quarter'", "type": "literal_error"}])),
    description="""
The spend of the calendar month (or quarter, UTC) holding `as_of` (default today): each day's actual spend up to
and including `as_of`, the expected spend of each remaining day, and the expected total with an **80 % prediction
interval** (on series like the history, 8 period totals in 10 fall inside it).

- **Method** `weekday-aware trimmed run rate (28 days)`: each remaining day expects the level of the 28 days
  before `as_of` (a 10 % trimmed mean, so one spike moves it little) times its weekday's index (Mondays may cost
  more than Sundays). The interval is the wider, on each side, of a seeded bootstrap of the history's
  residuals and the 10th-90th percentiles of the method's own errors when backtested on the series' earlier days
  (given spend on 28 days plus as many as remain).
- With under 14 days of history (a new team) it is `insufficient history: run rate` (a flat rate of what exists);
  with none, `insufficient history: actual only` (nothing expected beyond the actual).
- Running jobs count as they accrue: the spend of `as_of` is what has accrued so far.
- Admins see every team or one (`team_id` / `team`); members only their teams, and a foreign team is a 403.
- Details: docs/forecast-and-anomalies.md. Amounts are USD as 6-place decimal strings.""",
)
async def forecast(query: Annotated[ForecastQuery, Query()], scope: ScopeDep,
                   session: SessionDep) -> ForecastReport:
    """The forecast of `query.period` (see `service.forecast_period`); 403 for a member's foreign team, 422 for a
    bad parameter."""
    team_ids = await scope.narrow(session, team_id=query.team_id, team=query.team)
    found = await service.forecast_period(session, period=query.period, team_ids=team_ids, today=query.as_of)
    return ForecastReport(
        period=found.period, period_start=found.period_start, period_end=found.period_end, as_of=found.as_of,
        actual_to_date=found.actual_to_date, expected_total=found.expected_total, interval_low=found.interval_low,
        interval_high=found.interval_high, interval_level=f"{found.interval_level:.2f}", method=found.method,
        history_days=found.history_days,
        daily_actual=[DayCost(day=day, cost=cost) for day, cost in found.daily_actual],
        daily_expected=[DayCost(day=day, cost=cost) for day, cost in found.daily_expected])


@router.get(
    "/anomalies", summary="Days whose spend broke from its pattern", response_model=AnomalyReport,
    dependencies=[single_valued_query()],
    responses=_responses(
        "`start` or `end` missing or not a YYYY-MM-DD date, `start` outside 1970-01-01 to 9000-12-31, `end` before "
        "`start` or more than 366 days after it, "
        "`group_by` not team or model, a parameter given twice, or an unknown one",
        problem_body(422, "validation-error", "Validation error", "Invalid request: query.group_by", errors=[
            {"loc": ["query", "group_by"], "msg": "Input should be 'team' or 'model'", "type": "literal_error"}])),
    description="""
The days in [`start`, `end`] (UTC, both included) whose spend, in total or per team or model (`group_by`), is a
**spike** against that group's own trailing 28 days: robust z-score = (actual − expected) / (1.4826 × MAD), with
`expected` the median of the 28 days before (of the same weekday when the series has a weekly shape), the scale at
least 10 % of expected. A day is an anomaly when the score is at least `JOBCOST_ANOMALY_THRESHOLD` (default 3.5)
**and** it spent at least `JOBCOST_ANOMALY_MIN_USD` (default 10) USD above expected. Only spikes are reported
(drops in spend are not). A group needs 7 days of history before its days are judged.

Each anomaly names the 5 jobs that spent the most in its group that day. Admins see every team or one; members
only their teams (a foreign team is a 403). Details: docs/forecast-and-anomalies.md.""",
)
async def anomalies(query: Annotated[AnomalyQuery, Query()], scope: ScopeDep, session: SessionDep,
                    settings: SettingsDep) -> AnomalyReport:
    """The anomalies of the window (see `service.find_anomalies`); 403 for a member's foreign team, 422 for a bad
    parameter."""
    team_ids = await scope.narrow(session, team_id=query.team_id, team=query.team)
    found = await service.find_anomalies(session, start=query.start, end=query.end, group_by=query.group_by,
                                         team_ids=team_ids, threshold=settings.anomaly_threshold,
                                         min_usd=settings.anomaly_min_usd)
    return AnomalyReport(
        start=query.start, end=query.end, group_by=query.group_by, threshold=settings.anomaly_threshold,
        min_usd=settings.anomaly_min_usd,
        anomalies=[Anomaly(day=a.day, group=a.group, actual=a.actual, expected=a.expected, score=a.score,
                           top_jobs=[TopJob(job_id=j.job_id, team=j.team, model_name=j.model_name, cost=j.cost)
                                     for j in a.top_jobs]) for a in found])
