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
)
from pydantic_core import PydanticCustomError

from app.auth.schemas import TeamRef
from app.core.money import GpuHours, Usd, gpu_hours
from app.db.models import CostSnapshot, CostSource, Job, JobStatus
from app.ingestion.normalize import parse_instant, parse_status, required_text

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


# Filters compare with stored names, so they are read by the same rule as names at ingest: a value ingest would
# refuse (a control character, which PostgreSQL cannot even compare, say) is a clear 422, not a database error.
# The bounds are the stored columns' (255; 64 for gpu_type and provider), also shown on the OpenAPI page.
FilterText = Annotated[str, required_text(255), Field(max_length=255)]
ShortFilterText = Annotated[str, required_text(64), Field(max_length=64)]
Instant = Annotated[datetime, BeforeValidator(parse_instant),
                    WithJsonSchema({"type": "string", "format": "date-time", "examples": ["2026-01-10T00:00:00Z"]})]


def _distinct(value: list[JobStatus]) -> list[JobStatus]:
    return list(dict.fromkeys(value))


class JobListQuery(BaseModel):
    """Paging and filters of `GET /jobs`. Filters combine with AND; unknown parameters are refused (422), so a
    misspelt filter never silently lists everything."""

    model_config = ConfigDict(extra="forbid")

    skip: int = Field(0, ge=0, le=MAX_SKIP, description="Jobs to skip (0 ≤ skip ≤ 1,000,000,000).")
    limit: int = Field(50, ge=1, le=MAX_PAGE, description="Jobs per page (1 ≤ limit ≤ 100).")
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
    "currency": "USD", "labels": {"project": "assistant", "stage": "sft"},
    "created_at": "2026-11-29T21:37:19.877593Z", "updated_at": "2026-11-29T21:37:19.877593Z",
    "snapshots": [{"day": "2026-01-03", "gpu_hours": "16.000000", "cost": "110.080000"},
                  {"day": "2026-01-04", "gpu_hours": "10.000000", "cost": "68.800000"}],
}


class SnapshotRead(BaseModel):
    """A job's share of GPU time and cost on one UTC day. A job's snapshots sum to its `cost` exactly."""

    day: date = Field(description="The UTC day.", examples=["2026-01-10"])
    gpu_hours: GpuHours
    cost: Usd | None = Field(description="USD spent on this day; null when the job is unpriced.")


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
    created_at: datetime
    updated_at: datetime
    snapshots: list[SnapshotRead] | None = Field(
        None, description="With `?include=snapshots`: cost per UTC day, by day.")

    @classmethod
    def from_job(cls, job: Job, snapshots: Sequence[CostSnapshot] | None = None) -> JobRead:
        """The API view of `job` (its `team` loaded), with `snapshots` when given."""
        return cls(
            id=job.id, job_id=job.job_id, team=TeamRef.model_validate(job.team), status=job.status,
            model_name=job.model_name, gpu_type=job.gpu_type, gpu_count=Decimal(job.gpu_milli).scaleb(-3),
            provider=job.provider, user=job.user_name, submitted_at=job.submitted_at, started_at=job.started_at,
            ended_at=job.ended_at, observed_at=job.observed_at, gpu_hours=gpu_hours(job.gpu_us), cost=job.cost,
            billed_cost=job.billed_cost, cost_source=job.cost_source, labels=job.labels,
            created_at=job.created_at, updated_at=job.updated_at,
            snapshots=None if snapshots is None else [
                SnapshotRead(day=s.day, gpu_hours=gpu_hours(s.gpu_us), cost=s.cost) for s in snapshots],
        )


class JobList(BaseModel):
    """One page of jobs, newest start first (`started_at` descending, jobs that never started last, then by
    `job_id`), and how many jobs match in all."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"jobs": [{**JOB_EXAMPLE, "snapshots": None}], "total": 10, "skip": 0, "limit": 1, "has_more": True}]})

    jobs: list[JobRead]
    total: int = Field(description="Jobs matching the filters, on every page.", examples=[30])
    skip: int = Field(examples=[0])
    limit: int = Field(examples=[50])
    has_more: bool = Field(description="Whether jobs follow this page (`skip + len(jobs) < total`).")
