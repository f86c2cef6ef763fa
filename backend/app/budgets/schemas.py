"""Shapes of `/admin/budgets` (an admin's budgets) and `GET /budgets` (a budget with its period's figures)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from app.core.money import Usd
from app.ingestion.field_rules import optional_text, parse_cost

DEFAULT_THRESHOLDS = (50, 80, 100)
MAX_THRESHOLD = 1000  # percent of the amount
MAX_THRESHOLDS = 20
NAME_MAX = 255


def _amount(value: Any) -> Decimal:
    """USD: more than 0, at most 6 decimal places, under 10^12 (ingest's money rule, minus 0)."""
    try:
        amount = parse_cost(value)
    except PydanticCustomError as exc:
        if exc.type == "greater_than_equal":
            raise PydanticCustomError("greater_than", "must be more than 0") from None
        raise
    if amount <= 0:
        raise PydanticCustomError("greater_than", "must be more than 0")
    return amount


def _thresholds(value: Any) -> list[int]:
    """Whole percents of the amount, each 1..1000, no repeats; stored in ascending order."""
    if not isinstance(value, list):
        raise PydanticCustomError("list_type", "must be a list of whole percents, e.g. [50, 80, 100]")
    if not 1 <= len(value) <= MAX_THRESHOLDS:
        raise PydanticCustomError("too_long", f"must hold 1 to {MAX_THRESHOLDS} thresholds")
    percents: list[int] = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int):
            raise PydanticCustomError("int_type", "each threshold must be a whole percent, e.g. 80")
        if not 1 <= item <= MAX_THRESHOLD:
            raise PydanticCustomError("threshold_range", f"each threshold must be 1 to {MAX_THRESHOLD} percent")
        percents.append(item)
    if len(set(percents)) != len(percents):
        raise PydanticCustomError("threshold_repeated", "each threshold may appear once")
    return sorted(percents)


Amount = Annotated[Decimal, BeforeValidator(_amount), Field(
    json_schema_extra={"type": "string", "examples": ["5000.00"]},
    description="USD, more than 0, at most 6 decimal places; a string (or a JSON integer).")]
Thresholds = Annotated[list[int], BeforeValidator(_thresholds), Field(
    description="Whole percents of the amount, 1..1000 each, no repeats (stored sorted).", examples=[[50, 80, 100]])]
Name = optional_text(NAME_MAX)
Period = Literal["month", "quarter"]


class BudgetIn(BaseModel):
    """A new budget: `scope` `team` (name the team by `team` or `team_id`) or `all` (every team together)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"scope": "team", "team": "nlp", "period": "month", "amount": "5000.00", "thresholds": [50, 80, 100],
         "name": "NLP monthly GPU budget"}]})

    scope: Literal["team", "all"] = "team"
    team: Annotated[str | None, Field(description="The team's name (any case), for scope `team`.")] = None
    team_id: Annotated[uuid.UUID | None, Field(description="Or the team's id.")] = None
    period: Period = "month"
    amount: Amount
    thresholds: Thresholds = list(DEFAULT_THRESHOLDS)
    name: Name = None

    @field_validator("team")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None


class BudgetPatch(BaseModel):
    """Changes to a budget: only the fields given change (`name: null` clears the name; a null `period`, `amount`
    or `thresholds` is a 422). Changing the scope or the team is deleting the budget and creating another."""

    model_config = ConfigDict(extra="forbid",
                              json_schema_extra={"examples": [{"amount": "6000", "thresholds": [80, 100]}]})

    period: Period | None = None
    amount: Amount | None = None
    thresholds: Thresholds | None = None
    name: Name = None


_BUDGET_EXAMPLE: dict[str, Any] = {
    "id": "6f1c3c1e-9a57-4a43-9d43-0a4b1e6f2c11", "name": "NLP monthly GPU budget", "scope": "team",
    "team_id": "0b7e7f0e-4a52-4d0e-9d9c-52c3b0a4b1e6", "team": "nlp", "period": "month", "amount": "5000.000000",
    "thresholds": [50, 80, 100], "created_by": "admin@example.com", "created_at": "2026-12-01T09:00:00Z",
    "updated_at": "2026-12-01T09:00:00Z"}
_STATUS_EXAMPLE: dict[str, Any] = {
    **_BUDGET_EXAMPLE, "period_start": "2026-12-01", "period_end": "2026-12-31", "as_of": "2026-12-06",
    "actual": "2100.000000", "actual_percent": "42.00",
    "forecast": {"expected_total": "4300.000000", "interval_low": "3900.000000", "interval_high": "4800.000000",
                 "interval_level": "0.80", "method": "weekday-aware run rate over the trailing 28 days"},
    "threshold_states": [
        {"percent": 50, "amount": "2500.000000", "state": "ok", "crossed_at": None},
        {"percent": 80, "amount": "4000.000000", "state": "crossed-forecast", "crossed_at": "2026-12-06T08:15:02Z"},
        {"percent": 100, "amount": "5000.000000", "state": "ok", "crossed_at": None}]}


class BudgetRead(BaseModel):
    """A budget as stored."""

    model_config = ConfigDict(json_schema_extra={"examples": [_BUDGET_EXAMPLE]})

    id: uuid.UUID
    name: str | None
    scope: Literal["team", "all"]
    team_id: uuid.UUID | None
    team: str | None = Field(description="The team's name; null for scope `all`.")
    period: Period
    amount: Usd
    thresholds: list[int] = Field(description="Percents of `amount`, ascending.")
    created_by: str
    created_at: datetime
    updated_at: datetime


class BudgetList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"budgets": [_BUDGET_EXAMPLE]}]})

    budgets: list[BudgetRead]


ThresholdStateName = Literal["ok", "crossed-actual", "crossed-forecast"]


class ThresholdState(BaseModel):
    """One threshold in the current period: `crossed-actual` once actual spend reached it, else `crossed-forecast`
    once the forecast total reaches it, else `ok`. `crossed_at`: when the alert for it was recorded (null until
    the evaluator has seen it)."""

    percent: int = Field(examples=[80])
    amount: Usd = Field(description="USD: percent × the budget's amount.")
    state: ThresholdStateName
    crossed_at: datetime | None = None


class ForecastFigures(BaseModel):
    """The period's forecast total (from `app.forecasting`), with its interval."""

    expected_total: Usd
    interval_low: Usd
    interval_high: Usd
    interval_level: str = Field(examples=["0.80"], description="The interval's probability, e.g. 0.80.")
    method: str


class BudgetStatus(BudgetRead):
    """A budget with its current period's figures (UTC days; spend from the daily rollups, as the analytics)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_STATUS_EXAMPLE]})

    period_start: date
    period_end: date = Field(description="The period's last day (inclusive).")
    as_of: date = Field(description="Today (UTC): actual spend counts the days up to and including it.")
    actual: Usd = Field(description="USD spent in the period so far, running jobs as they accrue.")
    actual_percent: Decimal = Field(description="`actual` as a percent of `amount`, 2 places.")
    forecast: ForecastFigures | None = Field(description="Null until forecasting is available for the period.")
    threshold_states: list[ThresholdState]


class BudgetStatusList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"currency": "USD", "budgets": [_STATUS_EXAMPLE]}]})

    currency: str = "USD"
    budgets: list[BudgetStatus]
