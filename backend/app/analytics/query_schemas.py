"""Shapes of `GET /analytics/cost`: the query (dimensions, step, window, filters, order, limit) and its report."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from app.analytics.schemas import UtcWindow
from app.core.money import GpuHours, KgCo2e, Kwh, Usd
from app.db.models import JobStatus
from app.ingestion.field_rules import parse_status
from app.jobs.schemas import LABEL_KEY, FilterText, ShortFilterText, parse_label_filter

MAX_GROUP_BY = 3
MAX_LIMIT = 1000
DIMENSIONS = ("team", "model", "gpu_type", "provider", "user", "status")
LABEL_PREFIX = "label:"


def _label_key(text: str) -> str:
    return LABEL_KEY.func(text)  # type: ignore[call-arg]


def _split_commas(value: Any) -> Any:
    """`group_by=team,model` and `group_by=team&group_by=model` alike: every item split at commas (empty parts, as
    in `group_by=`, name nothing)."""
    items = value if isinstance(value, list) else [value]
    parts = [part.strip() for item in items for part in (item.split(",") if isinstance(item, str) else [item])]
    return [part for part in parts if part != ""]


def _dimensions(values: list[str]) -> list[str]:
    seen: list[str] = []
    for value in values:
        if value.startswith(LABEL_PREFIX):
            value = LABEL_PREFIX + _label_key(value[len(LABEL_PREFIX):])
        elif value in ("day", "week", "month"):
            raise PydanticCustomError("dimension", "'{value}' is a step, not a dimension: use step={value}",
                                      {"value": value})
        elif value not in DIMENSIONS:
            raise PydanticCustomError(
                "dimension", "unknown dimension '{value}': use team, model, gpu_type, provider, user, status or "
                             "label:KEY", {"value": value[:64]})
        if value in seen:
            raise PydanticCustomError("dimension_repeated", "'{value}' is named twice", {"value": value[:64]})
        seen.append(value)
    if len(seen) > MAX_GROUP_BY:
        raise PydanticCustomError("too_many_dimensions", "at most {n} dimensions", {"n": MAX_GROUP_BY})
    return seen


def _distinct(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


Statuses = Annotated[list[Annotated[JobStatus, BeforeValidator(parse_status)]], AfterValidator(_distinct)]
Names = Annotated[list[FilterText], AfterValidator(_distinct)]
ShortNames = Annotated[list[ShortFilterText], AfterValidator(_distinct)]
LabelFilter = Annotated[tuple[str, str], BeforeValidator(parse_label_filter)]
# Repeatable query parameters: the router lets these through `single_valued_query`.
REPEATABLE = ("group_by", "team", "team_id", "model_name", "gpu_type", "provider", "user", "status", "label")


class CostQuery(UtcWindow):
    """`GET /analytics/cost`: sums of the cost snapshots whose UTC day is in [start, end], grouped by up to three
    dimensions, per period of `step`. Filters are repeatable: values of one filter are alternatives (OR), different
    filters must all hold (AND). Unknown parameters are refused (422)."""

    group_by: Annotated[list[str], BeforeValidator(_split_commas), AfterValidator(_dimensions)] = Field(
        default_factory=list,
        description="Up to 3 of `team`, `model`, `gpu_type`, `provider`, `user`, `status`, `label:KEY`, "
                    "comma-separated or repeated; none: one group, everything.", examples=[["team", "model"]])
    step: Literal["day", "week", "month"] | None = Field(
        None, description="Periods of the time series: UTC days, ISO weeks (Monday to Sunday) or calendar months, "
                          "each clipped to the window; none: the whole window is one period.")
    fill: Literal["none", "zero"] = Field(
        "none", description="`zero`: every period of the window appears, and in each every group seen in the "
                            "window, with zeros where nothing ran (for charts); `none`: only rows with usage.")
    order: Literal["cost", "gpu_hours", "name"] = Field(
        "cost", description="Rows within a period: by `cost` or `gpu_hours` descending, or by `name` (the group's "
                            "values, missing ones last).")
    limit: int | None = Field(
        None, ge=1, le=MAX_LIMIT,
        description=f"Keep the top N groups of each period (by `order`); the rest are summed into one row with "
                    f"`other: true`, so rows still add up to the totals (1 ≤ N ≤ {MAX_LIMIT}).")
    format: Literal["json", "csv"] | None = Field(
        None, description="`csv`: the rows as a CSV download; `json`: the report. Absent: as the `Accept` header "
                          "asks (`text/csv` first: CSV), else JSON.")
    team: Names = Field(default_factory=list, description="Only these teams, by name (trimmed, case-insensitive; "
                                                          "403 for a member naming a team outside its own).")
    team_id: Annotated[list[uuid.UUID], AfterValidator(_distinct)] = Field(
        default_factory=list, description="Only these teams, by id (403 for a member outside them).")
    model_name: Names = Field(default_factory=list, description="Only these models (exact names).")
    gpu_type: ShortNames = Field(default_factory=list,
                                 description="Only these GPU types (catalog aliases apply: `a100 80gb` → `A100-80GB`).")
    provider: ShortNames = Field(default_factory=list,
                                 description="Only these providers (catalog aliases apply: `AWS` → `aws`).")
    user: Names = Field(default_factory=list, description="Only jobs of these users (exact names).")
    status: Statuses = Field(default_factory=list,
                             description="Only jobs whose status (as last ingested) is one of these; synonyms such as "
                                         "`COMPLETED` are read as at ingest.")
    label: Annotated[list[LabelFilter], AfterValidator(_distinct)] = Field(
        default_factory=list, description="Only jobs with this label, `KEY:VALUE` (the key up to the first `:`, "
                                          "the value exactly as stored); values of one key are alternatives, "
                                          "different keys must all match.",
        examples=[["project:assistant"]])


class CostMeasures(BaseModel):
    cost: Usd = Field(description="USD spent: billed costs as billed, other jobs at the rate card's price. "
                                  "Leaves out unpriced GPU time.")
    gpu_hours: GpuHours = Field(description="GPU-hours run (GPU count × hours), priced or not.")
    unpriced_gpu_hours: GpuHours = Field(description="The part of `gpu_hours` with no cost: spend `cost` cannot "
                                                     "show.")
    wasted_cost: Usd = Field(description="The part of `cost` spent on jobs that ended failed, cancelled or "
                                         "preempted: work that did not complete.")
    job_count: int = Field(description="Distinct jobs that ran in the period (a job running across two periods "
                                       "counts in both).", examples=[9])
    energy_kwh: Kwh = Field(description="Energy, kWh: measured where the job carried `energy_kwh`, else estimated "
                                        "from the coefficients (GET /energy/coefficients; docs/energy.md).")
    energy_measured_kwh: Kwh = Field(description="The part of `energy_kwh` that was measured; the rest is "
                                                 "estimated.")
    co2e_kg: KgCo2e = Field(description="Carbon, kg CO2e (location-based): energy × the grid intensity of each job's "
                                     "region.")
    co2e_measured_kg: KgCo2e = Field(description="The part of `co2e_kg` from measured energy.")
    idle_gpu_hours: GpuHours = Field(description="GPU-hours held but unused: GPU-hours × (1 − utilisation), over "
                                                 "the jobs that report their utilisation only.")
    idle_cost: Usd = Field(description="USD paid for idle GPU time: each job's cost × (1 − utilisation), same "
                                       "jobs.")
    utilization_known_gpu_hours: GpuHours = Field(
        description="The GPU-hours whose utilisation is known: what `idle_gpu_hours` and `idle_cost` cover.")


class _RowKey(BaseModel):
    period_start: date | None = Field(description="First day of the row's period: the step's period clipped to "
                                                  "the window; without `step`, the window's `start`.")
    period_end: date | None = Field(description="Last day of the row's period (included), clipped likewise.")
    group: dict[str, str | None] = Field(
        description="The group's value of each `group_by` dimension (null: jobs without it, e.g. no model), "
                    "plus `team_id` beside `team`. Empty without `group_by`.",
        examples=[{"team": "NLP Research", "team_id": "411d3703-8637-46e8-be6c-1de8b6259533",
                   "model": "llama-3-8b-sft"}])
    other: bool = Field(False, description="True on the row summing the groups past `limit` in this period "
                                           "(its `group` values are null).")


# The period and group first, then the measures (pydantic orders fields from the last base class to the first).
class CostRow(CostMeasures, _RowKey):
    """One group in one period."""


class CostTotals(CostMeasures):
    """The whole window: `job_count` counts each job once, however many rows or periods it ran in."""


_ENERGY_EXAMPLE = {"energy_kwh": "31.250000", "energy_measured_kwh": "31.250000", "co2e_kg": "11.845781",
                   "co2e_measured_kg": "11.845781", "idle_gpu_hours": "5.760000", "idle_cost": "39.628800",
                   "utilization_known_gpu_hours": "32.000000"}
_TEAM = {"team": "NLP Research", "team_id": "411d3703-8637-46e8-be6c-1de8b6259533"}
QUERY_EXAMPLE: dict[str, Any] = {
    "start": "2026-01-01", "end": "2026-01-14", "step": "week", "group_by": ["team"], "currency": "USD",
    "rows": [
        {"period_start": "2026-01-01", "period_end": "2026-01-04", "group": _TEAM, "other": False,
         "cost": "1520.640000", "gpu_hours": "244.000000", "unpriced_gpu_hours": "0.000000",
         "wasted_cost": "178.880000", "job_count": 3, **_ENERGY_EXAMPLE},
        {"period_start": "2026-01-05", "period_end": "2026-01-11", "group": _TEAM, "other": False,
         "cost": "1840.332987", "gpu_hours": "312.166667", "unpriced_gpu_hours": "0.000000",
         "wasted_cost": "0.000000", "job_count": 4, **_ENERGY_EXAMPLE},
    ],
    "totals": {"cost": "3360.972987", "gpu_hours": "556.166667", "unpriced_gpu_hours": "0.000000",
               "wasted_cost": "178.880000", "job_count": 6, **_ENERGY_EXAMPLE},
}


class CostQueryReport(BaseModel):
    """What was spent in a window of UTC days, per group and period, as the database stands now. Amounts are USD
    and GPU-hours as 6-place decimal strings, each rounded once from its exact sum."""

    model_config = ConfigDict(json_schema_extra={"examples": [QUERY_EXAMPLE]})

    start: date | None = Field(description="The first day included, as asked (null: unbounded).")
    end: date | None = Field(description="The last day included, as asked (null: unbounded).")
    step: Literal["day", "week", "month"] | None = Field(description="The step, as asked.")
    group_by: list[str] = Field(description="The dimensions, as asked.")
    currency: Literal["USD"] = Field("USD", description="The currency of every amount: jobcost keeps USD only.")
    rows: list[CostRow] = Field(description="By period, then by `order` within a period; the `other` row last.")
    totals: CostTotals
