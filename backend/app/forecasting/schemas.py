"""Shapes of `GET /analytics/forecast` and `GET /analytics/anomalies`: the queries and the reports."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from app.analytics.planner import EARLIEST, LATEST
from app.analytics.schemas import UtcDay
from app.core.money import Usd
from app.jobs.schemas import FilterText

MAX_ANOMALY_DAYS = 366  # the longest window of one anomaly request


def _within_calendar(value: date | None) -> date | None:
    """A day from 1970-01-01 (no job runs before: ingest refuses it) to 9000-12-31: the 28 days of history before
    it, and the end of its quarter, stay on the calendar (year 1 minus 28 days, or 9999's last quarter plus one
    day, was a 500)."""
    if value is not None and not EARLIEST <= value <= LATEST:
        raise PydanticCustomError("day_range", "must be from {earliest} to {latest} (no job runs outside them)",
                                  {"earliest": EARLIEST.isoformat(), "latest": LATEST.isoformat()})
    return value


class _TeamFilter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    team_id: uuid.UUID | None = Field(None, description="Only this team (403 for a member outside it).")
    team: FilterText | None = Field(
        None, description="Only the team of this name (trimmed, case-insensitive; 403 for a member outside it).")


class ForecastQuery(_TeamFilter):
    """The period to forecast, the team (optional) and the day the forecast is made."""

    period: Literal["month", "quarter"] = Field(
        "month", description="The calendar month or quarter (UTC) holding `as_of`.")
    as_of: UtcDay | None = Field(
        None, description="The last day taken as actual (YYYY-MM-DD, 1970-01-01 to 9000-12-31); none: today (UTC), "
                          "whose spend is what has accrued so far.")

    _as_of_range = field_validator("as_of")(_within_calendar)


class DayCost(BaseModel):
    """Spend of one UTC day, USD."""

    day: date
    cost: Usd


_FORECAST_EXAMPLE = {
    "period": "month", "period_start": "2026-02-01", "period_end": "2026-02-28", "as_of": "2026-02-10",
    "currency": "USD", "actual_to_date": "791.250000", "expected_total": "2243.000000",
    "interval_low": "2198.400000", "interval_high": "2290.150000", "interval_level": "0.80",
    "method": "weekday-aware trimmed run rate (28 days)", "history_days": 28,
    "daily_actual": [{"day": "2026-02-01", "cost": "10.000000"}, {"day": "2026-02-02", "cost": "100.500000"}],
    "daily_expected": [{"day": "2026-02-11", "cost": "110.250000"}, {"day": "2026-02-12", "cost": "100.000000"}],
}
_ANOMALY_EXAMPLE = {
    "start": "2026-02-01", "end": "2026-02-28", "group_by": "team", "currency": "USD", "threshold": 3.5,
    "min_usd": "10.000000", "anomalies": [{
        "day": "2026-02-10", "group": {"team": "vision", "team_id": "0b5e5f3c-7d1e-4a53-9d3e-2f4c8a1b6e70"},
        "actual": "1170.000000", "expected": "100.000000", "score": 107.0,
        "top_jobs": [{"job_id": "train-7731", "team": "vision", "model_name": "resnet50-ft", "cost": "300.000000"},
                     {"job_id": "train-7732", "team": "vision", "model_name": "resnet50-ft", "cost": "250.000000"}],
    }],
}


class ForecastReport(BaseModel):
    """The period's actual spend so far, the expected spend of each remaining day and of the whole period."""

    model_config = ConfigDict(json_schema_extra={"examples": [_FORECAST_EXAMPLE]})

    period: Literal["month", "quarter"]
    period_start: date = Field(description="First UTC day of the period.")
    period_end: date = Field(description="Last UTC day of the period (included).")
    as_of: date = Field(description="The last day counted as actual; the days after it are expected.")
    currency: Literal["USD"] = "USD"
    actual_to_date: Usd = Field(description="Spend from period_start to as_of, both included (running jobs as "
                                            "far as they have accrued).")
    expected_total: Usd = Field(description="actual_to_date plus the expected spend of every remaining day.")
    interval_low: Usd = Field(description="Lower bound of the prediction interval of the period's total.")
    interval_high: Usd = Field(description="Upper bound of the prediction interval of the period's total.")
    interval_level: str = Field(description="The interval's coverage: \"0.80\" means that on series like the "
                                            "history, 8 period totals in 10 fall inside.", examples=["0.80"])
    method: str = Field(description="How the remaining days were forecast: `weekday-aware trimmed run rate (28 "
                                    "days)`, or with too little history `insufficient history: run rate` or "
                                    "`insufficient history: actual only`.")
    history_days: int = Field(description="Days of history the forecast rests on (at most 28).")
    daily_actual: list[DayCost] = Field(description="Each day from period_start to as_of.")
    daily_expected: list[DayCost] = Field(description="Each day after as_of to period_end.")


class AnomalyQuery(_TeamFilter):
    """The days to judge, and how to group the spend."""

    start: UtcDay = Field(description="First UTC day judged (YYYY-MM-DD, 1970-01-01 to 9000-12-31).")
    end: UtcDay = Field(description="Last UTC day judged (YYYY-MM-DD, included).")
    group_by: Literal["team", "model"] | None = Field(
        None, description="Judge each team's or each model's spend against its own history; none: the total.")

    _start_range = field_validator("start")(_within_calendar)

    @field_validator("end")
    @classmethod
    def _window(cls, value: date, info: ValidationInfo) -> date:
        start = info.data.get("start")
        if start is not None and value < start:
            raise PydanticCustomError("window_reversed", "must not be before start (end is the last day included)")
        if start is not None and (value - start).days + 1 > MAX_ANOMALY_DAYS:
            raise PydanticCustomError("window_too_long", "the window may span at most {n} days",
                                      {"n": MAX_ANOMALY_DAYS})
        return value


class TopJob(BaseModel):
    """A job's spend on the anomalous day."""

    job_id: str
    team: str
    model_name: str | None
    cost: Usd


class Anomaly(BaseModel):
    """A day whose spend is far above its group's recent pattern."""

    day: date
    group: dict[str, str | None] | None = Field(
        description="`{team, team_id}` or `{model}` (null: jobs without a model); null when not grouped.")
    actual: Usd
    expected: Usd = Field(description="The median of the trailing 28 days (of the same weekday on weekly "
                                      "series).")
    score: float = Field(description="(actual − expected) / robust scale (1.4826 × MAD, at least 10 % of "
                                     "expected).")
    top_jobs: list[TopJob] = Field(description="Up to 5 jobs that spent the most in the group that day.")


class AnomalyReport(BaseModel):
    """The anomalies of a window, by day then score descending."""

    model_config = ConfigDict(json_schema_extra={"examples": [_ANOMALY_EXAMPLE]})

    start: date
    end: date
    group_by: Literal["team", "model"] | None
    currency: Literal["USD"] = "USD"
    threshold: float = Field(description="The robust z-score from which a day is an anomaly (setting "
                                         "JOBCOST_ANOMALY_THRESHOLD).")
    min_usd: Usd = Field(description="The USD above expected a day must also spend (JOBCOST_ANOMALY_MIN_USD).")
    anomalies: list[Anomaly]
