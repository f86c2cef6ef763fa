"""One job record in, one normalised job (or the reasons it was refused) out: DESIGN.md's "Job record".

`JobIn` is the wire shape and checks each field on its own (types, trimming, lengths, units, RFC 3339
timestamps, status synonyms: the rules of single values are in `field_rules.py`); `normalize_record` then applies
the rules that tie fields together (what each status needs, the order of the timestamps, nothing in the future)
and resolves provider and GPU names through the price catalog's aliases. Nothing here touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, WithJsonSchema
from pydantic_core import PydanticCustomError

from app.db.models import JobStatus
from app.ingestion.field_rules import (
    MAX_CLOCK_SKEW,
    MAX_LABELS,
    MAX_RUN,
    catalog_name,
    kwh_to_mwh,
    optional_text,
    parse_cost,
    parse_currency,
    parse_energy_kwh,
    parse_gpu_count,
    parse_gpu_utilization,
    parse_instant,
    parse_labels,
    parse_region,
    parse_status,
    required_text,
    share_to_bp,
    team_name,
    to_utc_ms,
)
from app.pricing.aliases import NameResolver
from app.pricing.catalog import PriceCatalog

# A job_id: 1–255 characters once trimmed, kept otherwise as sent (ids are not NFC-normalised).
_JOB_ID = required_text(255, normalize=False)


def stored_job_id(value: str) -> str | None:
    """`value` as ingest stores a `job_id` (by the very rule `JobIn.job_id` uses), or None when no job can have
    it: blank, over 255 characters, or holding a character ingest refuses (a NUL, say, which PostgreSQL cannot
    even compare). For lookups by id: None is a certain 404, without a query."""
    try:
        return _JOB_ID.func(value)
    except PydanticCustomError:
        return None


_INSTANT_SCHEMA = WithJsonSchema({
    "anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}],
    "description": "RFC 3339 with an offset, e.g. 2026-01-10T08:00:00Z; kept to the millisecond, in UTC; from "
                   "1970 to at most 10 minutes ahead of the time of ingest. A blank string is the same as null."})
OptionalName = optional_text(255)
OptionalShortName = catalog_name(64)  # gpu_type, provider: the rate cards' `*` refused
_NAME_SCHEMA = WithJsonSchema({"type": "string", "minLength": 1, "maxLength": 255})
_DECIMAL_SCHEMA = WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "number"}]})


def _blank(value: Any) -> bool:
    """None or a blank string: an optional field not given (records converted from CSV have blank cells)."""
    return value is None or (isinstance(value, str) and not value.strip())


def _optional_instant(value: Any) -> datetime | None:
    return None if _blank(value) else parse_instant(value)


OptionalInstant = Annotated[datetime | None, BeforeValidator(_optional_instant), _INSTANT_SCHEMA]


class JobIn(BaseModel):
    """One job record as sent to `POST /api/v1/admin/ingest/jobs`. Unknown fields are refused; text is trimmed
    (names NFC-normalised) and may not contain control or invisible characters; a run may last at most 366 days."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{
            "job_id": "slurm-a:12345_7", "team": "nlp", "status": "COMPLETED", "model_name": "llama-3-8b-sft",
            "gpu_type": "H100", "gpu_count": 8, "provider": "aws", "user": "ada",
            "submitted_at": "2026-01-10T07:55:00Z", "started_at": "2026-01-10T08:00:00Z",
            "ended_at": "2026-01-10T12:00:00Z", "energy_kwh": "31.25", "gpu_utilization": "0.82",
            "region": "us-east-1", "labels": {"project": "sft"}}]},
    )

    job_id: Annotated[str, _JOB_ID, _NAME_SCHEMA] = Field(
        description="External id, unique across jobcost (1–255 characters; may contain `/`).")
    team: Annotated[str, BeforeValidator(team_name), _NAME_SCHEMA] = Field(
        description="Who pays; found or created by name (compared trimmed and case-folded).")
    status: Annotated[JobStatus, BeforeValidator(parse_status),
                      WithJsonSchema({"type": "string", "examples": ["succeeded", "COMPLETED", "PENDING"]})] = Field(
        description="queued, running, succeeded, failed, cancelled or preempted, or a common synonym.")
    model_name: OptionalName = None
    gpu_type: OptionalShortName = Field(
        default=None, description="GPU model; catalog aliases apply (`A100-SXM4-80GB` → `A100-80GB`).")
    gpu_count: Annotated[Decimal | None, BeforeValidator(lambda v: None if _blank(v) else parse_gpu_count(v)),
                         _DECIMAL_SCHEMA] = Field(
        default=None, description="GPUs, 0 to 100,000, up to 3 decimal places (0.5 = half a GPU); default 1 when "
                                  "`gpu_type` is given, else 0.")
    provider: OptionalShortName = Field(
        default=None, description="Where it ran (`aws`, `gcp`, `azure`, `lambda`, or your own name).")
    user: OptionalName = Field(default=None, description="Who submitted it.")
    submitted_at: OptionalInstant = None
    started_at: OptionalInstant = None
    ended_at: OptionalInstant = None
    observed_at: OptionalInstant = Field(
        default=None, description="Running jobs only: when it was seen running (default: time of ingest). "
                                  "Ignored for other statuses.")
    cost: Annotated[Decimal | None, BeforeValidator(lambda v: None if _blank(v) else parse_cost(v)),
                    _DECIMAL_SCHEMA] = Field(
        default=None, description="Billed cost of the whole job in USD, ≥ 0 and under 10^12, up to 6 decimal places; "
                                  "needs `started_at`. Without it the cost is estimated from the GPU price catalog.")
    energy_kwh: Annotated[Decimal | None, BeforeValidator(lambda v: None if _blank(v) else parse_energy_kwh(v)),
                          _DECIMAL_SCHEMA] = Field(
        default=None, description="Measured energy of the whole job in kWh (e.g. Slurm's ConsumedEnergy), ≥ 0 and "
                                  "at most 10,000,000, up to 6 decimal places; null when not measured (then "
                                  "energy is estimated).")
    gpu_utilization: Annotated[Decimal | None,
                               BeforeValidator(lambda v: None if _blank(v) else parse_gpu_utilization(v)),
                               _DECIMAL_SCHEMA] = Field(
        default=None, description="Mean share of the allocated GPUs' time with work on them, 0 to 1 (0.82, not "
                                  "82), up to 4 decimal places; null when unknown.")
    region: Annotated[str | None, BeforeValidator(parse_region),
                      WithJsonSchema({"anyOf": [{"type": "string", "maxLength": 64}, {"type": "null"}]})] = Field(
        default=None, description="Cloud region or data-centre name (`us-east-1`), 1–64 characters; stored "
                                  "trimmed and case-folded.")
    currency: Annotated[str, BeforeValidator(parse_currency)] = Field(default="USD", description="Only `USD`.")
    labels: Annotated[dict[str, str], BeforeValidator(parse_labels),
                      WithJsonSchema({"type": "object", "maxProperties": MAX_LABELS,
                                      "additionalProperties": {"type": "string", "maxLength": 1024}})] = Field(
        default_factory=dict, description="String → string: at most 50 labels, keys 1–255 characters (trimmed), "
                                          "values at most 1,024 characters.")


@dataclass(frozen=True, slots=True)
class NormalizedJob:
    """A valid job, normalised: canonical names, UTC millisecond timestamps, integer GPU thousandths and
    micro-USD, `observed_at` resolved for running jobs and None otherwise; measured energy as integer
    milliwatt-hours, GPU utilisation as integer ten-thousandths, the region case-folded (None when not given)."""

    job_id: str
    team: str
    status: JobStatus
    model_name: str | None
    gpu_type: str | None
    gpu_milli: int
    provider: str | None
    user_name: str | None
    submitted_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    observed_at: datetime | None
    billed_cost: Decimal | None
    labels: dict[str, str]
    energy_mwh: int | None = None  # measured energy of the whole job, integer milliwatt-hours
    gpu_util_bp: int | None = None  # mean GPU utilisation, integer ten-thousandths (0..10,000)
    region: str | None = None  # case-folded

    @property
    def run_end(self) -> datetime | None:
        """Where the run time stops: `ended_at`, or `observed_at` while running."""
        return self.ended_at if self.ended_at is not None else self.observed_at


@dataclass(frozen=True, slots=True)
class FieldError:
    """Why one field of one record was refused. `field` names the field (`ended_at`), None for the whole record."""

    field: str | None
    message: str


def _consistency(job: JobIn, now: datetime) -> list[FieldError]:
    errors: list[FieldError] = []
    status, started, ended = job.status, job.started_at, job.ended_at
    if status is JobStatus.queued:
        if started is not None:
            errors.append(FieldError("started_at", "a queued job has not started: drop started_at or fix status"))
        if ended is not None:
            errors.append(FieldError("ended_at", "a queued job has not ended: drop ended_at or fix status"))
    elif status is JobStatus.running:
        if started is None:
            errors.append(FieldError("started_at", "a running job needs started_at"))
        if ended is not None:
            errors.append(FieldError("ended_at", "a running job has no ended_at: drop it or fix status"))
    elif status is JobStatus.cancelled:
        if started is not None and ended is None:
            errors.append(FieldError("ended_at", "a cancelled job that started needs ended_at"))
    else:
        if started is None:
            errors.append(FieldError("started_at", f"a {status.value} job needs started_at"))
        if ended is None:
            errors.append(FieldError("ended_at", f"a {status.value} job needs ended_at"))
    if job.submitted_at is not None and started is not None and started < job.submitted_at:
        errors.append(FieldError("started_at", "is before submitted_at"))
    if started is not None and ended is not None and ended < started:
        errors.append(FieldError("ended_at", "is before started_at"))
    elif started is None and ended is not None and job.submitted_at is not None and ended < job.submitted_at:
        errors.append(FieldError("ended_at", "is before submitted_at"))
    if job.cost is not None and started is None:
        errors.append(FieldError("cost", "a billed cost needs started_at (it is spread over the run)"))
    latest = now + MAX_CLOCK_SKEW
    for name in ("submitted_at", "started_at", "ended_at"):
        value = getattr(job, name)
        if value is not None and value > latest:
            errors.append(FieldError(name, "is in the future"))
    if status is JobStatus.running and started is not None and job.observed_at is not None:
        if job.observed_at < started:
            errors.append(FieldError("observed_at", "is before started_at"))
        elif job.observed_at > latest:
            errors.append(FieldError("observed_at", "is in the future"))
    return errors


def normalize_record(raw: Any, *, now: datetime,
                     catalog: PriceCatalog | NameResolver) -> NormalizedJob | list[FieldError]:
    """Validate and normalise one raw record (a dict as decoded from JSON, numbers as `Decimal`/`int`).

    `now` (aware UTC) is the time of ingest: the default `observed_at` of a running job and the limit for
    timestamps (at most 10 minutes ahead). Returns the job, or every reason it was refused.
    """
    if not isinstance(raw, dict):
        return [FieldError(None, "a job must be a JSON object")]
    try:
        job = JobIn.model_validate(raw)
    except ValidationError as exc:
        return [FieldError(".".join(str(p) for p in e["loc"]) or None, e["msg"]) for e in exc.errors()]
    now = to_utc_ms(now)
    errors = _consistency(job, now)
    observed = None
    if job.status is JobStatus.running and job.started_at is not None:
        observed = job.observed_at or now
    end = job.ended_at or observed
    if not errors and job.started_at is not None and end is not None and end - job.started_at > MAX_RUN:
        if job.ended_at is not None:
            errors.append(FieldError("ended_at", f"the run is longer than {MAX_RUN.days} days, the longest "
                                                 "jobcost accepts"))
        else:
            sent = "" if job.observed_at is not None else " (observed_at defaults to the time of ingest)"
            errors.append(FieldError("observed_at", f"the job has been running for more than {MAX_RUN.days} days, "
                                                    f"the longest run jobcost accepts{sent}"))
    if errors:
        return errors
    gpu_type = catalog.canonical_gpu_type(job.gpu_type) if job.gpu_type else None
    provider = catalog.canonical_provider(job.provider) if job.provider else None
    gpu_count = job.gpu_count if job.gpu_count is not None else Decimal(1 if gpu_type else 0)
    return NormalizedJob(
        job_id=job.job_id, team=job.team, status=job.status, model_name=job.model_name, gpu_type=gpu_type,
        gpu_milli=int(gpu_count * 1000), provider=provider,
        user_name=job.user, submitted_at=job.submitted_at, started_at=job.started_at, ended_at=job.ended_at,
        observed_at=observed, billed_cost=job.cost,
        labels=_with_sent_names(job.labels, (SENT_GPU_TYPE_LABEL, job.gpu_type, gpu_type),
                                (SENT_PROVIDER_LABEL, job.provider, provider)),
        energy_mwh=None if job.energy_kwh is None else kwh_to_mwh(job.energy_kwh),
        gpu_util_bp=None if job.gpu_utilization is None else share_to_bp(job.gpu_utilization), region=job.region)


# Labels keeping a name as it was sent when an alias (or MIG reading) made it another name, not only another case,
# so that a later change of the aliases can read the job's name again (recosting).
SENT_GPU_TYPE_LABEL = "gpu_type_sent"
SENT_PROVIDER_LABEL = "provider_sent"


def reread_names(job: NormalizedJob, names: PriceCatalog | NameResolver) -> NormalizedJob:
    """`job` (as stored) with its GPU type and provider read again through `names`, from what was sent (the
    `gpu_type_sent`/`provider_sent` label, else the stored name): how a recost applies an alias changed since the
    job was ingested. The same job when nothing reads differently."""
    sent_type = job.labels.get(SENT_GPU_TYPE_LABEL) or job.gpu_type
    sent_provider = job.labels.get(SENT_PROVIDER_LABEL) or job.provider
    gpu_type = names.canonical_gpu_type(sent_type) if sent_type else None
    provider = names.canonical_provider(sent_provider) if sent_provider else None
    if (gpu_type, provider) == (job.gpu_type, job.provider):
        return job
    labels = _with_sent_names(job.labels, (SENT_GPU_TYPE_LABEL, sent_type, gpu_type),
                              (SENT_PROVIDER_LABEL, sent_provider, provider))
    return replace(job, gpu_type=gpu_type, provider=provider, labels=labels)


def _with_sent_names(labels: dict[str, str], *names: tuple[str, str | None, str | None]) -> dict[str, str]:
    extra = {key: sent.strip() for key, sent, canonical in names
             if sent and canonical and sent.strip().casefold() != canonical.casefold()}
    return dict(sorted({**labels, **extra}.items())) if extra else labels
