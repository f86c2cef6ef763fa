"""Shapes of `GET /analytics/cost/by-team` and `/by-model`: the window and the report."""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, WithJsonSchema, field_validator
from pydantic_core import PydanticCustomError

from app.core.money import GpuHours, Usd
from app.jobs.schemas import FilterText

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def _utc_day(value: Any) -> Any:
    # Exactly YYYY-MM-DD: pydantic alone would also take epoch numbers and full timestamps, whose day depends on
    # a time zone; jobcost's days are UTC dates.
    if not isinstance(value, str):
        return value
    if not _DAY.fullmatch(value.strip()):
        raise PydanticCustomError("date_format", "must be a UTC date written YYYY-MM-DD, e.g. 2026-01-31")
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise PydanticCustomError("date_range", "is not a real date (month 1-12, a day the month has)") from None


UtcDay = Annotated[date, BeforeValidator(_utc_day),
                   WithJsonSchema({"type": "string", "format": "date", "examples": ["2026-01-01"]})]


class UtcWindow(BaseModel):
    """UTC days to sum, both ends included, either open. Unknown parameters are refused (422): a `tz` would
    otherwise be silently ignored, and jobcost's days are UTC days."""

    model_config = ConfigDict(extra="forbid")

    start: UtcDay | None = Field(None, description="First UTC day included (YYYY-MM-DD); none: from the first.")
    end: UtcDay | None = Field(None, description="Last UTC day included (YYYY-MM-DD); none: up to the last.",
                               examples=["2026-01-14"])

    @field_validator("end")
    @classmethod
    def _not_before_start(cls, value: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("start")
        if value is not None and start is not None and value < start:
            raise PydanticCustomError("window_reversed", "must not be before start (end is the last day included)")
        return value


class CostWindowQuery(UtcWindow):
    """The window of the by-team and by-model reports, and an optional team."""

    team_id: uuid.UUID | None = Field(None, description="Only this team's costs (403 for a member outside it).")
    team: FilterText | None = Field(
        None, description="Only the team of this name (trimmed, case-insensitive; 403 for a member outside it).")


class CostFigures(BaseModel):
    total_cost: Usd = Field(description="USD spent in the window: billed costs as billed, other jobs estimated at "
                                        "the catalog's on-demand list price. Leaves out unpriced GPU time.")
    gpu_hours: GpuHours = Field(description="GPU-hours run in the window (GPU count × hours), priced or not.")
    unpriced_gpu_hours: GpuHours = Field(
        description="The part of `gpu_hours` with no cost (no billed cost and no catalog price): spend that "
                    "`total_cost` cannot show.")
    job_count: int = Field(description="Distinct jobs that ran in the window. A job running across two windows "
                                       "counts in both, so counts of adjacent windows do not add up.", examples=[9])


class _TeamKey(BaseModel):
    team_id: uuid.UUID
    team_name: str = Field(examples=["NLP Research"])


class _ModelKey(BaseModel):
    model_name: str | None = Field(examples=["llama-3-8b-sft"])


# The group's key first, then its figures (pydantic orders fields from the last base class to the first).
class TeamCost(CostFigures, _TeamKey):
    """One team's cost in the window."""


class ModelCost(CostFigures, _ModelKey):
    """One model's cost in the window; jobs without a model are grouped under `model_name: null`."""


class CostReport(BaseModel):
    """What was spent in a window of UTC days, in all and per group, as the database stands now: re-ingesting a
    job (a new billed cost, a running job seen later) changes past windows too. Amounts are USD and GPU-hours, as
    6-place decimal strings."""

    start: date | None = Field(description="The first day included, as asked (null: unbounded).")
    end: date | None = Field(description="The last day included, as asked (null: unbounded).")
    currency: Literal["USD"] = Field("USD", description="The currency of every amount: jobcost keeps USD only.")
    total_cost: Usd = Field(description="The items' `total_cost` summed: exact, to the micro-USD.")
    total_gpu_hours: GpuHours = Field(
        description="GPU-hours in the window, rounded once from the exact sum: the items' rounded figures may sum "
                    "to a millionth more or less.")
    unpriced_gpu_hours: GpuHours = Field(
        description="The part of `total_gpu_hours` with no cost, rounded the same way.")
    job_count: int = Field(description="Distinct jobs that ran in the window (the items' counts summed: a job "
                                       "has one team and one model).", examples=[28])


_WINDOW_EXAMPLE = {"start": "2026-01-01", "end": "2026-01-14", "currency": "USD", "total_cost": "8274.417847",
                   "total_gpu_hours": "1422.583333", "unpriced_gpu_hours": "36.000000", "job_count": 28}


class TeamCostReport(CostReport):
    model_config = ConfigDict(json_schema_extra={"examples": [{**_WINDOW_EXAMPLE, "items": [
        {"team_id": "411d3703-8637-46e8-be6c-1de8b6259533", "team_name": "NLP Research",
         "total_cost": "4253.972987", "gpu_hours": "866.166667", "unpriced_gpu_hours": "0.000000", "job_count": 9},
        {"team_id": "dfe7b4bd-5b19-4084-a32d-34d58c08baf8", "team_name": "Computer Vision",
         "total_cost": "3774.040160", "gpu_hours": "421.666667", "unpriced_gpu_hours": "36.000000", "job_count": 9},
        {"team_id": "dcc56aa7-fc5a-4118-9f30-1a860ffd0e83", "team_name": "ML Platform",
         "total_cost": "246.404700", "gpu_hours": "134.750000", "unpriced_gpu_hours": "0.000000", "job_count": 10},
    ]}]})

    items: list[TeamCost] = Field(description="One per team, by `total_cost` descending, then team name.")


class ModelCostReport(CostReport):
    model_config = ConfigDict(json_schema_extra={"examples": [{**_WINDOW_EXAMPLE, "items": [
        {"model_name": "clip-vit-l14", "total_cost": "3605.066667", "gpu_hours": "293.333333",
         "unpriced_gpu_hours": "0.000000", "job_count": 2},
        {"model_name": "llama-3-8b-sft", "total_cost": "2848.320000", "gpu_hours": "414.000000",
         "unpriced_gpu_hours": "0.000000", "job_count": 3},
        {"model_name": "resnet50-imagenet", "total_cost": "25.248000", "gpu_hours": "84.000000",
         "unpriced_gpu_hours": "36.000000", "job_count": 3},
    ]}]})

    items: list[ModelCost] = Field(
        description="One per model, by `total_cost` descending, then model name (no model last).")
