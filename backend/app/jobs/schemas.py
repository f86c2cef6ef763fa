"""Shapes of `GET /jobs` and `GET /jobs/{job_id}`: the query parameters and the job as the API shows it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError

from app.auth.schemas import TeamRef
from app.core.money import GpuHours, KgCo2e, Kwh, Usd, gpu_hours
from app.db.models import CostSnapshot, CostSource, Job, JobStatus
from app.db.models.team import team_name_key
from app.energy.schemas import JobEnergyRead
from app.ingestion.field_rules import parse_instant, parse_status, required_text
from app.jobs.cursor import MAX_CURSOR_LENGTH

MAX_PAGE = 100
MAX_SKIP = 1_000_000_000


def _gpu_count_text(value: Decimal) -> str:
    return f"{value.normalize():f}"  # "8", "0.5": no trailing zeros, never an exponent


GpuCount = Annotated[
    Decimal,
    PlainSerializer(_gpu_count_text, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^\d+(\.\d{1,3})?$",
                    "description": "GPUs (fractional GPUs allowed, up to 3 places), as a decimal string",
                    "examples": ["8", "0.5"]}),
]


def _energy_text(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.000001')):f}"  # exact: stored as whole milliwatt-hours


def _share_text(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.0001')):f}"  # exact: stored as whole ten-thousandths


EnergyKwh = Annotated[
    Decimal,
    PlainSerializer(_energy_text, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^\d+\.\d{6}$",
                    "description": "Measured energy of the whole job, kWh, 6 decimal places",
                    "examples": ["31.250000"]}),
]
Share = Annotated[
    Decimal,
    PlainSerializer(_share_text, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^[01]\.\d{4}$",
                    "description": "Mean GPU utilisation, a share from 0 to 1, 4 decimal places",
                    "examples": ["0.8200"]}),
]


# Filters compare with stored names, so they are read by the same rule as names at ingest: a value ingest would
# refuse (a control character, which PostgreSQL cannot even compare, say) is a clear 422, not a database error.
# The bounds are the stored columns' (255; 64 for gpu_type and provider), also shown on the OpenAPI page.
FilterText = Annotated[str, required_text(255), Field(max_length=255)]
ShortFilterText = Annotated[str, required_text(64), Field(max_length=64)]
Instant = Annotated[datetime, BeforeValidator(parse_instant),
                    WithJsonSchema({"type": "string", "format": "date-time", "examples": ["2026-01-10T00:00:00Z"]})]


def _distinct(value: list[JobStatus]) -> list[JobStatus]:
    return list(dict.fromkeys(value))


LABEL_KEY = required_text(255)  # a label key, read as at ingest


def parse_label_filter(value: Any) -> tuple[str, str]:
    """`KEY:VALUE` → (key, value): the key read as at ingest (trimmed, 1–255 characters), the value everything
    after the first `:`, exactly (label values may hold `:` and are not trimmed at ingest either)."""
    if not isinstance(value, str) or ":" not in value:
        raise PydanticCustomError("label_filter", "must be KEY:VALUE, e.g. project:assistant")
    key, _, label_value = value.partition(":")
    try:
        clean_key = LABEL_KEY.func(key)  # type: ignore[call-arg]
    except PydanticCustomError as exc:
        raise PydanticCustomError("label_filter", "the key before ':' {why}", {"why": exc.message()}) from None
    if len(label_value) > 1024:
        raise PydanticCustomError("label_filter", "the value after ':' must be at most 1,024 characters")
    return clean_key, label_value


# Parameters that shape pages rather than choose jobs: a cursor may be followed with another `limit`.
PAGING_PARAMETERS = frozenset({"skip", "limit", "cursor", "include_total", "format"})


class JobListQuery(BaseModel):
    """Paging and filters of `GET /jobs`. Filters combine with AND (`status` and `label` repeat: OR within one
    label key, AND across keys); unknown parameters are refused (422), so a misspelt filter never silently lists
    everything."""

    model_config = ConfigDict(extra="forbid")

    skip: int = Field(0, ge=0, le=MAX_SKIP, description="Jobs to skip (0 ≤ skip ≤ 1,000,000,000). Each page costs "
                                                        "as much as all the pages before it: prefer `cursor`.")
    limit: int = Field(50, ge=1, le=MAX_PAGE, description="Jobs per page (1 ≤ limit ≤ 100).")
    cursor: str | None = Field(
        None, min_length=1, max_length=MAX_CURSOR_LENGTH,
        description="The `next_cursor` of the previous page: the page after it, as fast as the first page however "
                    "deep. Opaque and signed; only with the filters it was made under (`limit` may change), and "
                    "not with `skip`.")
    include_total: bool | None = Field(
        None, description="Whether to count `total` (exact; it costs a count of every matching job). Default: "
                          "counted on `skip` pages (including the first page), not on `cursor` pages, where "
                          "`total` is null unless `include_total=true`.")
    format: Literal["json", "csv"] | None = Field(
        None, description="`csv` (or `Accept: text/csv`) streams every matching job as CSV, no paging; "
                          "`skip`, `limit`, `cursor` and `include_total` are then refused.")
    sort: Literal["-started_at", "started_at", "-cost", "cost", "-gpu_hours", "gpu_hours"] = Field(
        "-started_at", description="The order: `started_at`, `cost` or `gpu_hours`, ascending, or descending with "
                                   "a leading `-` (default `-started_at`, newest start first). Jobs without the "
                                   "value (never started, unpriced) come last either way; ties by `job_id` (by "
                                   "code point). A cursor continues the order it was made in.",
        examples=["-cost"])
    team_id: uuid.UUID | None = Field(None, description="Only this team's jobs (403 for a member outside it).")
    team: FilterText | None = Field(
        None, description="Only the team of this name (trimmed, case-insensitive; 403 for a member outside it).",
        examples=["NLP Research"])
    status: Annotated[list[Annotated[JobStatus, BeforeValidator(parse_status)]],
                      AfterValidator(_distinct)] | None = Field(
        None, description="Only jobs in this status; repeat for several (`status=queued&status=running`). "
                          "Synonyms such as `COMPLETED` are read as at ingest.")
    provider: ShortFilterText | None = Field(
        None, description="Only this provider (catalog aliases apply: `AWS`, `amazon` → `aws`).", examples=["aws"])
    model_name: FilterText | None = Field(None, description="Only this model (exact name).",
                                          examples=["llama-3-8b-sft"])
    gpu_type: ShortFilterText | None = Field(
        None, description="Only this GPU type (catalog aliases apply: `a100 80gb` → `A100-80GB`).",
        examples=["H100"])
    user: FilterText | None = Field(None, description="Only jobs submitted by this user (exact name).")
    label: list[Annotated[tuple[str, str], BeforeValidator(parse_label_filter),
                          WithJsonSchema({"type": "string", "pattern": "^[^:]+:.*$"})]] | None = Field(
        None, description="Only jobs with this label, as `KEY:VALUE` (exact value; the key trimmed as at "
                          "ingest). Repeatable: values of one key are alternatives (OR), different keys must all "
                          "match (AND): `label=stage:sft&label=stage:dpo&label=project:assistant`.",
        examples=[["project:assistant"]])
    started_after: Instant | None = Field(
        None, description="Only jobs started at or after this instant (RFC 3339 with an offset); excludes jobs "
                          "that never started.")
    started_before: Instant | None = Field(
        None, description="Only jobs started before this instant (RFC 3339 with an offset); excludes jobs that "
                          "never started.")

    @field_validator("started_before")
    @classmethod
    def _window_not_reversed(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        after = info.data.get("started_after")
        if value is not None and after is not None and value < after:
            raise PydanticCustomError("window_reversed", "must not be before started_after")
        return value

    @model_validator(mode="after")
    def _paging_fits(self) -> JobListQuery:
        given = self.model_fields_set
        if self.cursor is not None and "skip" in given:
            raise _parameter_error("cursor", "cursor_with_skip",
                                   "a cursor continues where its page ended: do not give skip with it")
        if self.format == "csv":
            self.refuse_paging_for_csv()
        return self

    def refuse_paging_for_csv(self) -> None:
        """Refuse paging parameters on a CSV export (asked by `format=csv` or by `Accept: text/csv`), which
        exports every matching job."""
        paging = sorted(self.model_fields_set & {"skip", "limit", "cursor", "include_total"})
        if paging:
            raise _parameter_error(paging[0], "csv_no_paging",
                                   "a CSV export has every matching job: paging parameters do not apply")

    def label_filters(self) -> dict[str, list[str]]:
        """The `label` filters by key, each key's values in order of first appearance."""
        by_key: dict[str, list[str]] = {}
        for key, value in self.label or ():
            values = by_key.setdefault(key, [])
            if value not in values:
                values.append(value)
        return by_key

    def filters(self) -> dict[str, Any]:
        """The filters (every parameter that chooses jobs, none that shapes pages) and a sort other than the
        default, JSON-able and canonical: what a cursor is bound to (the default sort is left out, so cursors made
        before `sort` existed still continue)."""
        chosen = self.model_dump(mode="json", exclude=set(PAGING_PARAMETERS) | {"label"}, exclude_none=True)
        if chosen["sort"] == "-started_at":
            del chosen["sort"]
        if self.status:
            chosen["status"] = sorted(chosen["status"])
        if self.team is not None:  # a team is named in any case and spacing: the same team, the same filter
            chosen["team"] = team_name_key(self.team)
        if self.label:
            chosen["label"] = {key: sorted(values) for key, values in self.label_filters().items()}
        return chosen


def _parameter_error(name: str, kind: str, why: str) -> ValueError:
    # A ValueError from a model validator would be reported at the model's root; this names the parameter.
    return ValidationError.from_exception_data("JobListQuery", [
        InitErrorDetails(type=PydanticCustomError(kind, why), loc=(name,), input=None)])


class JobDetailQuery(BaseModel):
    """Options of `GET /jobs/{job_id}`."""

    model_config = ConfigDict(extra="forbid")

    include: Literal["snapshots"] | None = Field(
        None, description="`snapshots` adds the job's cost per UTC day.")


_TEAM_ID = "411d3703-8637-46e8-be6c-1de8b6259533"
JOB_EXAMPLE: dict[str, Any] = {
    "id": "ffe67f91-684b-4a3a-81ae-c6a9e55a058e", "job_id": "sagemaker:llama3-8b-sft-0103",
    "team": {"id": _TEAM_ID, "name": "NLP Research"}, "status": "failed", "model_name": "llama-3-8b-sft",
    "gpu_type": "H100", "gpu_count": "8", "provider": "aws", "user": "ada", "submitted_at": "2026-01-03T21:40:00Z",
    "started_at": "2026-01-03T22:00:00Z", "ended_at": "2026-01-04T01:15:00Z", "observed_at": None,
    "gpu_hours": "26.000000", "cost": "178.880000", "billed_cost": None, "cost_source": "estimated",
    "currency": "USD", "labels": {"project": "assistant", "stage": "sft"}, "energy_kwh": "19.412000",
    "gpu_utilization": "0.7350", "region": "us-east-1",
    "created_at": "2026-11-29T21:37:19.877593Z", "updated_at": "2026-11-29T21:37:19.877593Z",
    "energy": {"kwh": "11.516278", "co2e_kg": "4.365464", "source": "estimated",
               "defaults_used": ["gpu_utilization"], "idle_gpu_hours": None, "idle_cost": None},
    "snapshots": [{"day": "2026-01-03", "gpu_hours": "16.000000", "cost": "110.080000", "energy_kwh": "7.086940",
                   "co2e_kg": "2.686439", "idle_gpu_hours": "0.000000", "idle_cost": "0.000000"},
                  {"day": "2026-01-04", "gpu_hours": "10.000000", "cost": "68.800000", "energy_kwh": "4.429338",
                   "co2e_kg": "1.679025", "idle_gpu_hours": "0.000000", "idle_cost": "0.000000"}],
}


class SnapshotRead(BaseModel):
    """A job's share of GPU time and cost on one UTC day. A job's snapshots sum to its `cost` exactly."""

    day: date = Field(description="The UTC day.", examples=["2026-01-10"])
    gpu_hours: GpuHours
    cost: Usd | None = Field(description="USD spent on this day; null when the job is unpriced.")
    energy_kwh: Kwh = Field(description="kWh on this day (the job's `energy.kwh` spread like its cost).")
    co2e_kg: KgCo2e = Field(description="kg CO2e on this day.")
    idle_gpu_hours: GpuHours = Field(description="Idle GPU-hours on this day (0 when the utilisation is unknown).")
    idle_cost: Usd = Field(description="USD of idle GPU time on this day (0 when unknown).")


class JobRead(BaseModel):
    """A job as stored: its record normalised (timestamps in UTC, names through the catalog's aliases), its team,
    and its cost."""

    model_config = ConfigDict(json_schema_extra={"examples": [JOB_EXAMPLE]})

    id: uuid.UUID = Field(description="jobcost's own id of the job.")
    job_id: str = Field(description="The external id the job was ingested with.", examples=["slurm-a:12345_7"])
    team: TeamRef
    status: JobStatus
    model_name: str | None = Field(examples=["llama-3-8b-sft"])
    gpu_type: str | None = Field(examples=["H100"])
    gpu_count: GpuCount
    provider: str | None = Field(examples=["aws"])
    user: str | None = Field(description="Who submitted the job.", examples=["ada"])
    submitted_at: datetime | None = Field(examples=["2026-01-10T21:55:00Z"])
    started_at: datetime | None = Field(examples=["2026-01-10T22:00:00Z"])
    ended_at: datetime | None = Field(examples=["2026-01-11T02:00:00Z"])
    observed_at: datetime | None = Field(
        description="Running jobs only: when the job was last seen running; its run is costed up to here.")
    gpu_hours: GpuHours = Field(description="GPU count × run time, in hours.")
    cost: Usd | None = Field(description="USD: the billed cost, else the estimate; null when unpriced.")
    billed_cost: Usd | None = Field(description="USD: the cost the record carried, if any.")
    cost_source: CostSource
    currency: Literal["USD"] = "USD"
    labels: dict[str, str] = Field(examples=[{"partition": "gpu-h100"}])
    energy_kwh: EnergyKwh | None = Field(
        None, description="kWh: the measured energy of the whole job as the record carried it; null when not "
                          "measured.")
    gpu_utilization: Share | None = Field(
        None, description="Mean share (0 to 1) of the allocated GPUs' time with work on them, as the record "
                          "carried it; null when unknown.")
    region: str | None = Field(None, description="Cloud region or data-centre name, case-folded.",
                               examples=["us-east-1"])
    created_at: datetime
    updated_at: datetime
    energy: JobEnergyRead | None = Field(
        None, description="Energy, carbon and idle GPU figures (docs/energy.md); null until computed for a job "
                          "stored before they existed (`jobcost energy recompute`).")
    snapshots: list[SnapshotRead] | None = Field(
        None, description="With `?include=snapshots`: cost per UTC day, by day.")

    @classmethod
    def from_job(cls, job: Job, snapshots: Sequence[CostSnapshot] | None = None) -> JobRead:
        """The API view of `job` (its `team` loaded), with `snapshots` when given."""
        return cls.from_record(job, TeamRef(id=job.team.id, name=job.team.name), snapshots)

    @classmethod
    def from_record(cls, job: Any, team: TeamRef, snapshots: Sequence[CostSnapshot] | None = None) -> JobRead:
        """The API view of `job`: a `Job`, or a row of the same attributes (a listing reads columns, not
        entities), with its `team`."""
        return cls(
            id=job.id, job_id=job.job_id, team=team, status=job.status,
            model_name=job.model_name, gpu_type=job.gpu_type, gpu_count=Decimal(job.gpu_milli).scaleb(-3),
            provider=job.provider, user=job.user_name, submitted_at=job.submitted_at, started_at=job.started_at,
            ended_at=job.ended_at, observed_at=job.observed_at, gpu_hours=gpu_hours(job.gpu_us), cost=job.cost,
            billed_cost=job.billed_cost, cost_source=job.cost_source, labels=job.labels,
            energy_kwh=None if job.energy_mwh is None else Decimal(job.energy_mwh).scaleb(-6),
            gpu_utilization=None if job.gpu_util_bp is None else Decimal(job.gpu_util_bp).scaleb(-4),
            region=job.region, created_at=job.created_at, updated_at=job.updated_at, energy=JobEnergyRead.of(job),
            snapshots=None if snapshots is None else [
                SnapshotRead(day=s.day, gpu_hours=gpu_hours(s.gpu_us), cost=s.cost,
                             energy_kwh=Decimal(s.energy_mwh).scaleb(-6), co2e_kg=Decimal(s.co2e_mg).scaleb(-6),
                             idle_gpu_hours=gpu_hours(s.idle_gpu_us),
                             idle_cost=Decimal(s.idle_cost_micros).scaleb(-6)) for s in snapshots],
        )


_CURSOR_EXAMPLE = "WzEsMTc2NzQ4MDQwMDAwMDAwMCwic2FnZW1ha2VyOmxsYW1hMy04Yi1zZnQtMDEwMyIsIjQ0MTM2ZmEzNTVi"


class JobList(BaseModel):
    """One page of jobs, newest start first (`started_at` descending, jobs that never started last, then by
    `job_id`), how many jobs match in all (when counted), and the cursor of the next page."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"jobs": [{**JOB_EXAMPLE, "snapshots": None}], "total": 10, "skip": 0, "limit": 1, "has_more": True,
         "next_cursor": _CURSOR_EXAMPLE},
        {"jobs": [{**JOB_EXAMPLE, "snapshots": None}], "total": None, "skip": None, "limit": 1, "has_more": True,
         "next_cursor": _CURSOR_EXAMPLE}]})

    jobs: list[JobRead]
    total: int | None = Field(
        description="Jobs matching the filters in all, exact. Counted on `skip` pages (the first page "
                    "included) and whenever `include_total=true`; null on `cursor` pages otherwise.", examples=[30])
    skip: int | None = Field(description="The `skip` of this page; null on a `cursor` page.", examples=[0])
    limit: int = Field(examples=[50])
    has_more: bool = Field(description="Whether jobs follow this page.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page (with the same filters); null on the last page.",
        examples=[_CURSOR_EXAMPLE])
