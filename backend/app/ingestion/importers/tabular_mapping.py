"""The mapping behind `--format csv` and `--format ndjson`: which source (column or key) feeds which job field,
checked against the options, and how the values found become a `JobIn` wire record (local times to UTC, numbers as
text, joined sources, labels, `--cluster`). The rules, for users, are in `tabular.py`'s docstring and
docs/importers/csv-ndjson.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from app.ingestion.importers.base import ImporterConfigError, ImportOptions, Tally
from app.ingestion.normalize import JobIn
from app.ingestion.wire import JsonDecodeError, decode_json

JOB_FIELDS = tuple(JobIn.model_fields)
TIME_FIELDS = ("submitted_at", "started_at", "ended_at", "observed_at")
LABEL_PREFIX = "labels."
_NAIVE_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?", re.ASCII)
MISSING = object()  # a field the row has no value for (unlike a JSON null)
# `--map FIELD=A+B`: the field is the values of columns A and B, blank ones left out, joined with JOIN_SEPARATOR.
JOIN_MARK = "+"
JOIN_SEPARATOR = "_"


class Skip(Exception):
    """A row that cannot be mapped: `reason` (stable, counted) and `detail` (shown with the line)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def is_target(field: str) -> bool:
    """True for a name a mapping may feed: a `JobIn` field, or `labels.KEY` with a non-empty KEY."""
    return field in JOB_FIELDS or (field.startswith(LABEL_PREFIX) and bool(field[len(LABEL_PREFIX):].strip()))


def local_time_to_utc(text: str, options: ImportOptions, tally: Tally) -> str:
    """`text` as sent: unchanged unless it is a timestamp without an offset, which is read as a wall-clock time in
    `options.tz` and returned as RFC 3339 in UTC (`2026-01-14T07:00:00Z`). Raises Skip for a date or time that
    does not exist (month 13, or an hour skipped when clocks go forward)."""
    match = _NAIVE_TIME.fullmatch(text.strip())
    if match is None:
        return text
    year, month, day, hour, minute, second, fraction = match.groups()
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        local = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micros,
                         tzinfo=options.tz)
        instant = local.astimezone(UTC)
    except (ValueError, OverflowError):  # not a date, or out of datetime's range once moved to UTC (year 1)
        raise Skip("local time that cannot be read", f"{text.strip()!r} is not a real date and time") from None
    if instant.astimezone(options.tz).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise Skip("local time that cannot be read",
                    f"{text.strip()!r} does not exist in {options.tz_name} (the clocks went forward)")
    tally.note(f"timestamps without an offset read as wall-clock times in {options.tz_name} (--tz)")
    if local.replace(fold=1).utcoffset() != local.utcoffset():
        tally.note(f"local times that occur twice in {options.tz_name} (clocks set back) read as the first one")
    spec = "microseconds" if micros else "seconds"
    return instant.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


class Mapping:
    """Where each job field comes from, checked against the options: `explicit` (field → source, with the option
    that said so in `origin`), and the constants `--team`, `--provider`, `--gpu-type` and `--region`."""

    def __init__(self, options: ImportOptions, fmt: str) -> None:
        if options.epoch is not None:
            raise ImporterConfigError(f"--epoch does not apply to --format {fmt}: give timestamps as text")
        self.options = options
        self.explicit: dict[str, str] = {}
        self.origin: dict[str, str] = {}
        for field, source in options.mapping.items():
            self._add(field.strip(), source.strip(), f"--map {field}={source}")
        if options.team_from:
            self._add("team", options.team_from, f"--team-from {options.team_from}")
        if options.model_from:
            self._add("model_name", options.model_from, f"--model-from {options.model_from}")
        self.constants: dict[str, str] = {}
        for field, value, flag in (("team", options.team, "--team"), ("provider", options.provider, "--provider"),
                                   ("gpu_type", options.gpu_type, "--gpu-type"),
                                   ("region", options.region, "--region")):
            if value is None:
                continue
            if field in self.explicit:
                raise ImporterConfigError(f"{flag} {value!r} and {self.origin[field]} both give {field}: keep one")
            self.constants[field] = value

    def _add(self, field: str, source: str, origin: str) -> None:
        if not is_target(field):
            raise ImporterConfigError(f"{origin}: {field!r} is not a job field; the fields are "
                                      f"{', '.join(JOB_FIELDS)}, and labels.KEY for a label")
        if not source:
            raise ImporterConfigError(f"{origin}: the column name is empty")
        if field in self.explicit and self.explicit[field] != source:
            raise ImporterConfigError(f"{origin} and {self.origin[field]} both give {field}: keep one")
        if JOIN_MARK in source and not all(part.strip() for part in source.split(JOIN_MARK)):
            raise ImporterConfigError(f"{origin}: a column name is empty; join columns as COLUMN+COLUMN")
        self.explicit[field] = source
        self.origin[field] = origin

    def parts(self, field: str) -> tuple[str, ...]:
        """The columns (keys) a joined source names (`JobID+ArrayIndex` → JobID, ArrayIndex); () when the source
        of `field` is one column."""
        source = self.explicit[field]
        return tuple(part.strip() for part in source.split(JOIN_MARK)) if JOIN_MARK in source else ()

    def own_name(self, name: str) -> bool:
        """True when a column or key called `name` is taken as the field of that name."""
        return is_target(name) and name not in self.explicit and name not in self.constants

    def describe(self) -> str:
        pairs = [f"{field} <- {source}" for field, source in self.explicit.items()]
        pairs += [f"{field} = {value!r}" for field, value in self.constants.items()]
        return "mapping: " + ", ".join(pairs) if pairs else ""


class RecordBuilder:
    """Turns the values found for each field into a `JobIn` wire record."""

    def __init__(self, options: ImportOptions, mapping: Mapping, labels_from_text: bool) -> None:
        self.options = options
        self.mapping = mapping
        self.labels_from_text = labels_from_text

    def build(self, values: Iterator[tuple[str, Any]], tally: Tally) -> dict[str, Any]:
        """`values` gives (field, value) pairs, blank ones included. Raises Skip for an unreadable local time."""
        record: dict[str, Any] = {}
        labels: dict[str, Any] = {}
        for field, value in values:
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            if field.startswith(LABEL_PREFIX):
                labels[field[len(LABEL_PREFIX):].strip()] = _as_text(value)
            elif field == "labels":
                record["labels"] = self._labels(value)
            elif field in TIME_FIELDS and isinstance(value, str):
                try:
                    record[field] = local_time_to_utc(value, self.options, tally)
                except Skip as skip:
                    raise Skip(skip.reason, f"{field} {skip.detail}") from None
            else:
                record[field] = _as_text(value)
        record.update(self.mapping.constants)
        if labels:
            given = record.get("labels")
            record["labels"] = {**given, **labels} if isinstance(given, dict) else labels
        if self.options.cluster and isinstance(record.get("job_id"), str):
            record["job_id"] = f"{self.options.cluster}:{record['job_id'].strip()}"
        return record

    def _labels(self, value: Any) -> Any:
        if self.labels_from_text and isinstance(value, str):
            try:
                decoded = decode_json(value.encode("utf-8", "surrogatepass"))
            except JsonDecodeError:
                return value  # refused by validation, which says what labels must be
            return decoded if isinstance(decoded, dict) else value
        return value


def joined(values: Iterator[Any]) -> str:
    """The non-blank `values` as text, joined with JOIN_SEPARATOR (`"846"`, `"3"` → `"846_3"`; `"845"`, `""` →
    `"845"`); "" when all are blank. NDJSON numbers are their exact decimal text; other JSON values their JSON."""
    texts = []
    for value in values:
        if value is None or value is MISSING:
            continue
        text = _as_text(value)
        if not isinstance(text, str):
            text = json.dumps(text, ensure_ascii=False, separators=(",", ":"), default=str)
        if text.strip():
            texts.append(text.strip())
    return JOIN_SEPARATOR.join(texts)


def _as_text(value: Any) -> Any:
    """Numbers (not booleans) as their decimal text; everything else as it is."""
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(value)
    return value
