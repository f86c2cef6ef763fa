"""One job record in, one normalised job (or the reasons it was refused) out: DESIGN.md's "Job record".

`JobIn` is the wire shape and checks each field on its own (types, trimming, lengths, units, RFC 3339
timestamps, status synonyms); `normalize_record` then applies the rules that tie fields together (what each
status needs, the order of the timestamps, nothing in the future) and resolves provider and GPU names through
the price catalog's aliases. Nothing here touches the database.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, WithJsonSchema
from pydantic_core import PydanticCustomError

from app.db.models import JobStatus
from app.db.models.team import TEAM_NAME_MAX, team_name_key
from app.db.types import usd_to_micros
from app.pricing.aliases import NameResolver
from app.pricing.catalog import PriceCatalog

MAX_LABELS = 50
MAX_GPU_COUNT = Decimal(100_000)
MAX_COST_USD = Decimal(10) ** 12
MAX_RUN = timedelta(days=366)
MAX_CLOCK_SKEW = timedelta(minutes=10)
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_NUMBER_TEXT = 64

STATUS_SYNONYMS: dict[str, JobStatus] = {
    **{s: JobStatus.queued for s in ("queued", "pending", "submitted", "waiting", "requeued", "scheduled")},
    **{s: JobStatus.running for s in ("running", "started", "in_progress", "active", "completing")},
    **{s: JobStatus.succeeded for s in ("succeeded", "success", "successful", "completed", "complete", "done",
                                        "finished")},
    **{s: JobStatus.failed for s in ("failed", "failure", "error", "errored", "timeout", "timed_out", "node_fail",
                                     "out_of_memory", "oom", "oom_killed", "boot_fail", "deadline")},
    **{s: JobStatus.cancelled for s in ("cancelled", "canceled", "killed", "aborted", "revoked")},
    **{s: JobStatus.preempted for s in ("preempted", "evicted", "interrupted", "spot_interrupted")},
}

# ASCII digits only (`re.ASCII`): `\d` alone would also take Arabic-Indic or full-width digits, which int() reads.
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))",
    re.ASCII)
# A plain decimal: what Decimal() reads minus its extras (underscores, non-ASCII digits, NaN, Infinity).
_DECIMAL_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


def _fail(code: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(code, message)


def parse_instant(value: Any) -> datetime:
    """An RFC 3339 timestamp with an offset (`Z`, `+05:30`; `T` or a space between date and time) as an aware
    UTC datetime, cut to the millisecond (jobcost keeps timestamps to the millisecond). Numbers are refused:
    an epoch number's unit (s, ms, µs) would have to be guessed. Refused too: leap seconds (`:60`), more than 9
    fractional digits, and instants before 1970-01-01T00:00:00Z."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise _fail("naive_datetime", "needs a UTC offset (e.g. 2026-01-10T08:00:00Z)")
        if value < EARLIEST:
            raise _fail("timestamp_range", "is before 1970-01-01T00:00:00Z")
        return _to_utc_ms(value)
    if not isinstance(value, str):
        raise _fail("timestamp_type",
                    "must be an RFC 3339 string with an offset, e.g. 2026-01-10T08:00:00Z (epoch numbers are "
                    "not accepted: their unit would be a guess)")
    match = _RFC3339.fullmatch(value.strip())
    if match is None:
        raise _fail("timestamp_format",
                    "must be an RFC 3339 timestamp with a time and an offset, e.g. 2026-01-10T08:00:00Z "
                    "or 2026-01-10T13:30:00+05:30")
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    millis = int((fraction or "0")[:3].ljust(3, "0"))
    try:
        if zulu:
            tz = UTC
        else:
            if int(off_h) > 23 or int(off_m) > 59:
                raise ValueError("offset out of range")
            offset = timedelta(hours=int(off_h), minutes=int(off_m))
            tz = timezone(-offset if sign == "-" else offset)
        local = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), millis * 1000,
                         tzinfo=tz)
        instant = local.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise _fail("timestamp_range", "is not a real instant (date, time or offset out of range)") from exc
    if instant < EARLIEST:
        # Also keeps placeholder dates out: asyncpg sends 0001-01-01 (Go's zero time) as -infinity.
        raise _fail("timestamp_range", "is before 1970-01-01T00:00:00Z")
    return instant


def _to_utc_ms(value: datetime) -> datetime:
    value = value.astimezone(UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or isinstance(value, float):
        # JSON bodies are parsed with exact decimals, so a float here comes from code, not from a client.
        raise _fail("decimal_type", "must be a decimal number or a string of one (e.g. \"12.50\")")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, str) and len(value) > _MAX_NUMBER_TEXT:
        raise _fail("decimal_parsing", f"is too long for a number (at most {_MAX_NUMBER_TEXT} characters)")
    elif isinstance(value, str):
        text = value.strip()
        if not _DECIMAL_TEXT.fullmatch(text):
            raise _fail("decimal_parsing", "must be a finite decimal number, e.g. \"12.50\"")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise _fail("decimal_parsing", "must be a decimal number, e.g. \"12.50\"") from None
    else:
        raise _fail("decimal_type", "must be a decimal number or a string of one (e.g. \"12.50\")")
    if not number.is_finite():
        raise _fail("finite_number", "must be a finite number")
    return number


def parse_gpu_count(value: Any) -> Decimal:
    """GPUs as a decimal ≥ 0 with at most 3 places (fractional GPUs: 0.5 is half a GPU), at most 100,000."""
    number = _decimal(value)
    if number < 0:
        raise _fail("greater_than_equal", "must be 0 or more")
    if number > MAX_GPU_COUNT:
        raise _fail("less_than_equal", f"must be at most {MAX_GPU_COUNT}")
    if number != number.quantize(Decimal("0.001")):
        raise _fail("decimal_places", "must have at most 3 decimal places")
    return number


def parse_cost(value: Any) -> Decimal:
    """A USD amount ≥ 0 with at most 6 decimal places (one micro-USD), below 10^12."""
    number = _decimal(value)
    if number < 0:
        raise _fail("greater_than_equal", "must be 0 or more (credits and refunds are not jobs)")
    if number >= MAX_COST_USD:
        raise _fail("less_than", "must be less than 1,000,000,000,000 USD")
    try:
        usd_to_micros(number)
    except ValueError:
        raise _fail("decimal_places", "must have at most 6 decimal places (one micro-USD)") from None
    return number


# Characters refused in names and ids: controls, lone surrogates (not encodable, so not storable), format
# characters such as zero-width spaces and bidirectional overrides, line and paragraph separators, private use
# and unassigned code points. Each would make look-alike or invisible names ("NLP Research" and "NLP Research"
# followed by a zero-width space as two teams).
_REFUSED_IN_NAMES = frozenset({"Cc", "Cs", "Cf", "Zl", "Zp", "Co", "Cn"})
# In label values (free text) only controls other than tab, line feed and carriage return, and lone surrogates.
_ALLOWED_CONTROLS_IN_VALUES = frozenset("\t\n\r")


def _has_refused_character(text: str) -> bool:
    # Printable ASCII (the common case, checked in C) has none of the refused categories.
    if text.isascii() and text.isprintable():
        return False
    return any(unicodedata.category(ch) in _REFUSED_IN_NAMES for ch in text)


def _clean_text(value: Any, max_length: int, *, what: str = "", normalize: bool = True) -> str | None:
    """Trimmed text, NFC-normalised unless `normalize` is False (ids are kept as sent), None when blank."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise _fail("string_type", f"{what}must be a string")
    cleaned = value.strip()
    if _has_refused_character(cleaned):
        raise _fail("invalid_character", f"{what}must not contain control, invisible (format) or unassigned "
                                         "characters, or lone surrogates")
    if normalize:
        cleaned = unicodedata.normalize("NFC", cleaned)
    # Measured after NFC, which can lengthen text ("\u0958" becomes two characters): the stored value must fit.
    if len(cleaned) > max_length:
        raise _fail("string_too_long", f"{what}must be at most {max_length} characters")
    return cleaned or None


def required_text(max_length: int, *, normalize: bool = True) -> BeforeValidator:
    """A validator for non-blank text under ingest's rules (trimmed, NFC unless `normalize` is False, at most
    `max_length` characters, no refused characters): for record fields, and for filters that compare with them."""
    def check(value: Any) -> str:
        cleaned = _clean_text(value, max_length, normalize=normalize)
        if cleaned is None:
            raise _fail("string_too_short", "must not be empty")
        return cleaned
    return BeforeValidator(check)


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


def _team_name(value: Any) -> str:
    name = _clean_text(value, TEAM_NAME_MAX)
    if name is None:
        raise _fail("string_too_short", "must not be empty")
    if len(team_name_key(name)) > TEAM_NAME_MAX:  # case folding can lengthen text ("ß" → "ss")
        raise _fail("string_too_long", f"must be at most {TEAM_NAME_MAX} characters once case-folded")
    return name


def parse_status(value: Any) -> JobStatus:
    """A status or one of its synonyms (case-insensitive; `-` and spaces read as `_`)."""
    if not isinstance(value, str):
        raise _fail("string_type", "must be a string")
    key = re.sub(r"[\s-]+", "_", value.strip().casefold())
    status = STATUS_SYNONYMS.get(key)
    if status is None:
        raise _fail("status", "must be one of queued, running, succeeded, failed, cancelled, preempted "
                              "(or a common synonym such as COMPLETED, PENDING, TIMEOUT, CANCELED)")
    return status


def parse_currency(value: Any) -> str:
    """`USD` (any case; the default when absent). jobcost keeps one currency; others are refused, not converted."""
    if value is None:
        return "USD"
    if not isinstance(value, str) or value.strip().upper() != "USD":
        raise _fail("currency", "only USD is supported")
    return "USD"


def parse_labels(value: Any) -> dict[str, str]:
    """String → string, at most 50 pairs; keys trimmed, 1–255 characters; values at most 1,024 characters."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail("dict_type", "must be an object of string keys to string values")
    if len(value) > MAX_LABELS:
        raise _fail("too_long", f"must have at most {MAX_LABELS} labels")
    labels: dict[str, str] = {}
    for key, item in value.items():
        clean_key = _clean_text(key, 255, what="label keys ")
        if clean_key is None:
            raise _fail("label_key", "label keys must not be empty")
        if not isinstance(item, str):
            raise _fail("label_value", f"label {clean_key!r} must have a string value")
        if len(item) > 1024:
            raise _fail("label_value", f"label {clean_key!r}: the value must be at most 1,024 characters")
        if any(unicodedata.category(ch) == "Cs" or (unicodedata.category(ch) == "Cc"
                                                     and ch not in _ALLOWED_CONTROLS_IN_VALUES) for ch in item):
            raise _fail("label_value", f"label {clean_key!r}: the value must not contain control characters "
                                       "(other than tab and line breaks) or lone surrogates")
        if clean_key in labels:
            raise _fail("label_key", f"label key {clean_key!r} appears twice once trimmed")
        labels[clean_key] = item
    return dict(sorted(labels.items()))


_INSTANT_SCHEMA = WithJsonSchema({
    "anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}],
    "description": "RFC 3339 with an offset, e.g. 2026-01-10T08:00:00Z; kept to the millisecond, in UTC; from "
                   "1970 to at most 10 minutes ahead of the time of ingest. A blank string is the same as null."})
def optional_text(max_length: int) -> Any:
    """An optional text field of at most `max_length` characters: validator and OpenAPI schema together."""
    return Annotated[str | None, BeforeValidator(lambda v: _clean_text(v, max_length)),
                     WithJsonSchema({"anyOf": [{"type": "string", "maxLength": max_length}, {"type": "null"}]})]


OptionalName = optional_text(255)
OptionalShortName = optional_text(64)  # gpu_type, provider
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
            "ended_at": "2026-01-10T12:00:00Z", "labels": {"project": "sft"}}]},
    )

    job_id: Annotated[str, _JOB_ID, _NAME_SCHEMA] = Field(
        description="External id, unique across jobcost (1–255 characters; may contain `/`).")
    team: Annotated[str, BeforeValidator(_team_name), _NAME_SCHEMA] = Field(
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
    currency: Annotated[str, BeforeValidator(parse_currency)] = Field(default="USD", description="Only `USD`.")
    labels: Annotated[dict[str, str], BeforeValidator(parse_labels),
                      WithJsonSchema({"type": "object", "maxProperties": MAX_LABELS,
                                      "additionalProperties": {"type": "string", "maxLength": 1024}})] = Field(
        default_factory=dict, description="String → string: at most 50 labels, keys 1–255 characters (trimmed), "
                                          "values at most 1,024 characters.")


@dataclass(frozen=True, slots=True)
class NormalizedJob:
    """A valid job, normalised: canonical names, UTC millisecond timestamps, integer GPU thousandths and
    micro-USD, `observed_at` resolved for running jobs and None otherwise."""

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
    now = _to_utc_ms(now)
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
                                (SENT_PROVIDER_LABEL, job.provider, provider)))


# Labels keeping a name as it was sent when an alias (or MIG reading) made it another name, not only another case,
# so that a later change of the aliases can read the job's name again (recosting).
SENT_GPU_TYPE_LABEL = "gpu_type_sent"
SENT_PROVIDER_LABEL = "provider_sent"


def _with_sent_names(labels: dict[str, str], *names: tuple[str, str | None, str | None]) -> dict[str, str]:
    extra = {key: sent.strip() for key, sent, canonical in names
             if sent and canonical and sent.strip().casefold() != canonical.casefold()}
    return dict(sorted({**labels, **extra}.items())) if extra else labels
