"""The rules of single values of a job record, as ingest applies them: limits, RFC 3339 instants, exact decimals
(GPU counts, USD), text (trimming, NFC, refused characters, lengths), team names, status synonyms, currency and
labels. Each parser raises `PydanticCustomError` (code and message) for a value it refuses, so it can serve as a
pydantic validator (`JobIn` in `normalize.py`, the API's filters, rate-card files) or be called alone.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from app.db.models import JobStatus
from app.db.models.team import TEAM_NAME_MAX, team_name_key
from app.db.types import usd_to_micros

MAX_LABELS = 50
MAX_GPU_COUNT = Decimal(100_000)
MAX_COST_USD = Decimal(10) ** 12
MAX_ENERGY_KWH = Decimal(10_000_000)
REGION_MAX = 64
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


def fail(code: str, message: str) -> PydanticCustomError:
    """The error a rule raises: pydantic reports `code` as the error type and `message` as its text."""
    return PydanticCustomError(code, message)


def parse_instant(value: Any) -> datetime:
    """An RFC 3339 timestamp with an offset (`Z`, `+05:30`; `T` or a space between date and time) as an aware
    UTC datetime, cut to the millisecond (jobcost keeps timestamps to the millisecond). Numbers are refused:
    an epoch number's unit (s, ms, µs) would have to be guessed. Refused too: leap seconds (`:60`), more than 9
    fractional digits, and instants before 1970-01-01T00:00:00Z."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise fail("naive_datetime", "needs a UTC offset (e.g. 2026-01-10T08:00:00Z)")
        if value < EARLIEST:
            raise fail("timestamp_range", "is before 1970-01-01T00:00:00Z")
        return to_utc_ms(value)
    if not isinstance(value, str):
        raise fail("timestamp_type",
                    "must be an RFC 3339 string with an offset, e.g. 2026-01-10T08:00:00Z (epoch numbers are "
                    "not accepted: their unit would be a guess)")
    match = _RFC3339.fullmatch(value.strip())
    if match is None:
        raise fail("timestamp_format",
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
        raise fail("timestamp_range", "is not a real instant (date, time or offset out of range)") from exc
    if instant < EARLIEST:
        # Also keeps placeholder dates out: asyncpg sends 0001-01-01 (Go's zero time) as -infinity.
        raise fail("timestamp_range", "is before 1970-01-01T00:00:00Z")
    return instant


def to_utc_ms(value: datetime) -> datetime:
    """An aware datetime in UTC, cut to the millisecond (what jobcost keeps)."""
    value = value.astimezone(UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or isinstance(value, float):
        # JSON bodies are parsed with exact decimals, so a float here comes from code, not from a client.
        raise fail("decimal_type", "must be a decimal number or a string of one (e.g. \"12.50\")")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, str) and len(value) > _MAX_NUMBER_TEXT:
        raise fail("decimal_parsing", f"is too long for a number (at most {_MAX_NUMBER_TEXT} characters)")
    elif isinstance(value, str):
        text = value.strip()
        if not _DECIMAL_TEXT.fullmatch(text):
            raise fail("decimal_parsing", "must be a finite decimal number, e.g. \"12.50\"")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise fail("decimal_parsing", "must be a decimal number, e.g. \"12.50\"") from None
    else:
        raise fail("decimal_type", "must be a decimal number or a string of one (e.g. \"12.50\")")
    if not number.is_finite():
        raise fail("finite_number", "must be a finite number")
    return number


def parse_gpu_count(value: Any) -> Decimal:
    """GPUs as a decimal ≥ 0 with at most 3 places (fractional GPUs: 0.5 is half a GPU), at most 100,000."""
    number = _decimal(value)
    if number < 0:
        raise fail("greater_than_equal", "must be 0 or more")
    if number > MAX_GPU_COUNT:
        raise fail("less_than_equal", f"must be at most {MAX_GPU_COUNT}")
    if number != number.quantize(Decimal("0.001")):
        raise fail("decimal_places", "must have at most 3 decimal places")
    return number


def parse_cost(value: Any) -> Decimal:
    """A USD amount ≥ 0 with at most 6 decimal places (one micro-USD), below 10^12."""
    number = _decimal(value)
    if number < 0:
        raise fail("greater_than_equal", "must be 0 or more (credits and refunds are not jobs)")
    if number >= MAX_COST_USD:
        raise fail("less_than", "must be less than 1,000,000,000,000 USD")
    try:
        usd_to_micros(number)
    except ValueError:
        raise fail("decimal_places", "must have at most 6 decimal places (one micro-USD)") from None
    return number


def parse_energy_kwh(value: Any) -> Decimal:
    """Measured energy of a whole job in kWh: a decimal ≥ 0 with at most 6 places (one milliwatt-hour), at most
    10,000,000 kWh (`kwh_to_mwh` makes it the stored integer)."""
    number = _decimal(value)
    if number < 0:
        raise fail("greater_than_equal", "must be 0 or more (kWh)")
    if number > MAX_ENERGY_KWH:
        raise fail("less_than_equal", "must be at most 10,000,000 kWh")
    # Compared exactly (quantize, not a multiplication that the context's 28 digits could round to a whole).
    if number != number.quantize(Decimal("0.000001")):
        raise fail("decimal_places", "must have at most 6 decimal places (one milliwatt-hour)")
    return number


def kwh_to_mwh(kwh: Decimal) -> int:
    """kWh (at most 6 places, as `parse_energy_kwh` gives) as integer milliwatt-hours (1 kWh = 1,000,000 mWh)."""
    return int(kwh.scaleb(6))


def parse_gpu_utilization(value: Any) -> Decimal:
    """Mean share of the allocated GPUs' time with work on them: a decimal from 0 to 1 (not a percentage) with at
    most 4 places (`share_to_bp` makes it the stored integer)."""
    number = _decimal(value)
    if number < 0:
        raise fail("greater_than_equal", "must be 0 or more (a share from 0 to 1)")
    if number > 1:
        raise fail("less_than_equal", "must be at most 1 (a share from 0 to 1, not a percentage)")
    if number != number.quantize(Decimal("0.0001")):
        raise fail("decimal_places", "must have at most 4 decimal places")
    return number


def share_to_bp(share: Decimal) -> int:
    """A share from 0 to 1 (at most 4 places, as `parse_gpu_utilization` gives) as integer ten-thousandths."""
    return int(share.scaleb(4))


def parse_region(value: Any) -> str | None:
    """A cloud region or data-centre name: text under the name rules, 1–64 characters once trimmed, stored
    case-folded (`"US-East-1 "` → `"us-east-1"`); None when blank."""
    cleaned = clean_text(value, REGION_MAX)
    if cleaned is None:
        return None
    folded = cleaned.casefold()
    if folded == WILDCARD:
        raise fail("wildcard", "'*' means any region in the energy coefficients; a job needs a real region, or none")
    if len(folded) > REGION_MAX:  # case folding can lengthen text ("ß" → "ss")
        raise fail("string_too_long", f"must be at most {REGION_MAX} characters once case-folded")
    return folded


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


def clean_text(value: Any, max_length: int, *, what: str = "", normalize: bool = True) -> str | None:
    """Trimmed text, NFC-normalised unless `normalize` is False (ids are kept as sent), None when blank."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise fail("string_type", f"{what}must be a string")
    cleaned = value.strip()
    if _has_refused_character(cleaned):
        raise fail("invalid_character", f"{what}must not contain control, invisible (format) or unassigned "
                                         "characters, or lone surrogates")
    if normalize:
        cleaned = unicodedata.normalize("NFC", cleaned)
    # Measured after NFC, which can lengthen text ("\u0958" becomes two characters): the stored value must fit.
    if len(cleaned) > max_length:
        raise fail("string_too_long", f"{what}must be at most {max_length} characters")
    return cleaned or None


def required_text(max_length: int, *, normalize: bool = True) -> BeforeValidator:
    """A validator for non-blank text under ingest's rules (trimmed, NFC unless `normalize` is False, at most
    `max_length` characters, no refused characters): for record fields, and for filters that compare with them."""
    def check(value: Any) -> str:
        cleaned = clean_text(value, max_length, normalize=normalize)
        if cleaned is None:
            raise fail("string_too_short", "must not be empty")
        return cleaned
    return BeforeValidator(check)


def team_name(value: Any) -> str:
    """A team name: non-blank text under the rules above, at most TEAM_NAME_MAX characters, case-folded too."""
    name = clean_text(value, TEAM_NAME_MAX)
    if name is None:
        raise fail("string_too_short", "must not be empty")
    if len(team_name_key(name)) > TEAM_NAME_MAX:  # case folding can lengthen text ("ß" → "ss")
        raise fail("string_too_long", f"must be at most {TEAM_NAME_MAX} characters once case-folded")
    return name


def parse_status(value: Any) -> JobStatus:
    """A status or one of its synonyms (case-insensitive; `-` and spaces read as `_`)."""
    if not isinstance(value, str):
        raise fail("string_type", "must be a string")
    key = re.sub(r"[\s-]+", "_", value.strip().casefold())
    status = STATUS_SYNONYMS.get(key)
    if status is None:
        raise fail("status", "must be one of queued, running, succeeded, failed, cancelled, preempted "
                              "(or a common synonym such as COMPLETED, PENDING, TIMEOUT, CANCELED)")
    return status


def parse_currency(value: Any) -> str:
    """`USD` (any case; the default when absent). jobcost keeps one currency; others are refused, not converted."""
    if value is None:
        return "USD"
    if not isinstance(value, str) or value.strip().upper() != "USD":
        raise fail("currency", "only USD is supported")
    return "USD"


def parse_labels(value: Any) -> dict[str, str]:
    """String → string, at most 50 pairs; keys trimmed, 1–255 characters; values at most 1,024 characters."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise fail("dict_type", "must be an object of string keys to string values")
    if len(value) > MAX_LABELS:
        raise fail("too_long", f"must have at most {MAX_LABELS} labels")
    labels: dict[str, str] = {}
    for key, item in value.items():
        clean_key = clean_text(key, 255, what="label keys ")
        if clean_key is None:
            raise fail("label_key", "label keys must not be empty")
        if not isinstance(item, str):
            raise fail("label_value", f"label {clean_key!r} must have a string value")
        if len(item) > 1024:
            raise fail("label_value", f"label {clean_key!r}: the value must be at most 1,024 characters")
        if any(unicodedata.category(ch) == "Cs" or (unicodedata.category(ch) == "Cc"
                                                     and ch not in _ALLOWED_CONTROLS_IN_VALUES) for ch in item):
            raise fail("label_value", f"label {clean_key!r}: the value must not contain control characters "
                                       "(other than tab and line breaks) or lone surrogates")
        if clean_key in labels:
            raise fail("label_key", f"label key {clean_key!r} appears twice once trimmed")
        labels[clean_key] = item
    return dict(sorted(labels.items()))


# `*` stands for "any provider" / "any GPU type" in a rate card and for the default in the energy coefficients: a
# job named so would be priced and figured as the wildcard's row and look like a real provider in reports.
WILDCARD = "*"


def catalog_name(max_length: int) -> Any:
    """An optional provider or GPU type: `optional_text(max_length)` that also refuses the rate cards' wildcard
    `*` (a 422 on the field)."""
    def check(value: Any) -> str | None:
        cleaned = clean_text(value, max_length)
        if cleaned == WILDCARD:
            raise fail("wildcard", "'*' means any value in rate cards and energy coefficients; a job needs a real "
                                   "name, or none")
        return cleaned
    return Annotated[str | None, BeforeValidator(check),
                     WithJsonSchema({"anyOf": [{"type": "string", "maxLength": max_length}, {"type": "null"}]})]


def optional_text(max_length: int) -> Any:
    """An optional text field of at most `max_length` characters: validator and OpenAPI schema together."""
    return Annotated[str | None, BeforeValidator(lambda v: clean_text(v, max_length)),
                     WithJsonSchema({"anyOf": [{"type": "string", "maxLength": max_length}, {"type": "null"}]})]
