"""The pieces of a sacct export that `--format slurm` reads, each parsed on its own: durations, times, TRES
and GPUs, states, job ids, and the field list (header line or `--fields`) with the layout of a row.

These parsers are public so that `docs/importers/slurm.md` can point at them (`parse_duration`, `parse_tres`,
`gpus_from_tres`, `map_state`, `parse_job_id`, `parse_sacct_time`, `parse_field_list`); `slurm.py` assembles
jobs from them. Each raises ValueError (ImporterConfigError for the field list) saying why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from decimal import Decimal

from app.db.models import JobStatus
from app.ingestion.importers.base import ImporterConfigError

# Cell values sacct prints for a time it does not have.
NO_TIME = frozenset({"", "unknown", "none"})

# --- durations -----------------------------------------------------------------------------------------------

_DURATION = re.compile(r"(?:(?P<days>\d+)-)?(?:(?P<hours>\d+):)?(?P<minutes>\d+):(?P<seconds>\d+)"
                       r"(?:\.(?P<fraction>\d{1,9}))?", re.ASCII)


def parse_duration(text: str) -> Decimal:
    """Seconds (exact `Decimal`) of a Slurm duration: `[D-]HH:MM:SS`, `MM:SS`, each with optional fractional
    seconds (`1-02:03:04` = 93,784; `03:04.500` = 184.5). A day count needs hours (`1-02:03:04`, not `1-03:04`).

    Raises ValueError, saying why, for a negative duration (`-0:00:16`), minutes or seconds of 60 or more, hours
    of 24 or more after a day count, or anything else that is not one of these forms."""
    cleaned = text.strip()
    if cleaned.startswith("-"):
        raise ValueError(f"{text!r} is a negative duration")
    match = _DURATION.fullmatch(cleaned)
    if match is None or (match["days"] is not None and match["hours"] is None):
        raise ValueError(f"{text!r} is not a duration ([D-]HH:MM:SS, MM:SS or MM:SS.mmm)")
    days, hours = int(match["days"] or 0), int(match["hours"] or 0)
    minutes, seconds = int(match["minutes"]), int(match["seconds"])
    if minutes >= 60 or seconds >= 60 or (match["days"] is not None and hours >= 24):
        raise ValueError(f"{text!r} is not a duration (a field is out of range)")
    whole = ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    fraction = match["fraction"]
    return Decimal(whole) + (Decimal(f"0.{fraction}") if fraction else Decimal(0))


# --- timestamps ----------------------------------------------------------------------------------------------

_SACCT_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})", re.ASCII)


def parse_sacct_time(text: str, tz: tzinfo) -> datetime | None:
    """A sacct time (`2022-02-11T17:14:48`, no zone) read as a wall-clock time in `tz`, as an aware UTC datetime;
    None for the values sacct prints when it has no time (`Unknown`, `None`, empty). In a repeated hour (the
    autumn DST change) the first of the two instants is taken.

    Raises ValueError for anything else (`garbage`, a date alone, an impossible date such as month 13)."""
    cleaned = text.strip()
    if cleaned.casefold() in NO_TIME:
        return None
    match = _SACCT_TIME.fullmatch(cleaned)
    if match is None:
        raise ValueError(f"{text!r} is not a sacct time (YYYY-MM-DDTHH:MM:SS, Unknown or None)")
    try:
        year, month, day, hour, minute, second = (int(part) for part in match.groups())
        return datetime(year, month, day, hour, minute, second, tzinfo=tz).astimezone(UTC)
    except (ValueError, OverflowError):  # not a date, or out of datetime's range once moved to UTC (year 1)
        raise ValueError(f"{text!r} is not a real date and time") from None

# --- TRES and GPUs ---------------------------------------------------------------------------------------------

def parse_tres(text: str) -> dict[str, str]:
    """A TRES string (`billing=32,cpu=8,gres/gpu:h100=2,gres/gpu=2,mem=64G,node=1`) as name → value, in order.
    An empty string is no TRES at all (`{}`). Raises ValueError for an entry without `name=value` or a name
    given twice."""
    tres: dict[str, str] = {}
    for entry in text.strip().split(","):
        if not entry.strip():
            continue
        name, sep, value = entry.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or not value:
            raise ValueError(f"{entry!r} is not a name=value TRES entry")
        if name in tres:
            raise ValueError(f"{name!r} appears twice")
        tres[name] = value
    return tres


@dataclass(frozen=True, slots=True)
class GpuAllocation:
    """GPUs of one job: `count`, `gpu_type` (None when untyped or none; `"mixed"` for several types) and the
    typed entries (`{"a100": 2, "h100": 2}`)."""

    count: int
    gpu_type: str | None
    types: dict[str, int] = field(default_factory=dict)


def _gpu_number(name: str, value: str) -> int:
    if not value.isascii() or not value.isdigit():
        raise ValueError(f"{name}={value!r}: a GPU count must be a whole number")
    return int(value)


def gpus_from_tres(tres: dict[str, str]) -> GpuAllocation:
    """The GPUs of a parsed TRES (`parse_tres`): the untyped total `gres/gpu=N` when present, else the sum of
    the typed entries `gres/gpu:<type>=N` (never both: Slurm lists the typed entries *and* their total). The
    type is the one typed entry's (`gres/gpu:a100_3g.20gb=1` → `a100_3g.20gb`), `"mixed"` when several types
    have GPUs, None without typed entries. `gres/gpumem` and `gres/gpuutil` are not GPUs.

    Raises ValueError for a GPU count that is not a whole number."""
    total: int | None = None
    types: dict[str, int] = {}
    for name, value in tres.items():
        if name == "gres/gpu":
            total = _gpu_number(name, value)
        elif name.startswith("gres/gpu:"):
            types[name.removeprefix("gres/gpu:")] = _gpu_number(name, value)
    count = total if total is not None else sum(types.values())
    present = sorted(t for t, n in types.items() if n > 0)
    if count == 0 or not present:
        return GpuAllocation(count, None, types)
    return GpuAllocation(count, present[0] if len(present) == 1 else "mixed", types)


# --- states --------------------------------------------------------------------------------------------------

# Every state sacct prints (its long name) → jobcost status. `status_for` adjusts two groups by the row's times.
STATE_STATUS: dict[str, JobStatus] = {
    **dict.fromkeys(("PENDING", "RESV_DEL_HOLD"), JobStatus.queued),
    **dict.fromkeys(("REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "SPECIAL_EXIT"), JobStatus.queued),
    **dict.fromkeys(("RUNNING", "CONFIGURING", "COMPLETING", "RESIZING", "SUSPENDED", "SIGNALING", "STAGE_OUT",
                     "STOPPED"), JobStatus.running),
    "COMPLETED": JobStatus.succeeded,
    **dict.fromkeys(("FAILED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "BOOT_FAIL", "DEADLINE"), JobStatus.failed),
    **dict.fromkeys(("CANCELLED", "REVOKED"), JobStatus.cancelled),
    "PREEMPTED": JobStatus.preempted,
}
# A row in one of these states that has run (Start and End) was cut short and sent back to the queue.
REQUEUE_STATES = frozenset({"REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "SPECIAL_EXIT"})


def map_state(text: str) -> tuple[str, JobStatus]:
    """The state's name (`"CANCELLED by 1234"` → `"CANCELLED"`; any case; a trailing `+` is dropped) and its
    jobcost status by `STATE_STATUS`. Raises ValueError for a state not in the table (`INVALID`, `?`, empty)."""
    words = text.strip().split()
    name = words[0].rstrip("+").upper() if words else ""
    status = STATE_STATUS.get(name)
    if status is None:
        raise ValueError(f"{text!r} is not a Slurm job state jobcost knows")
    return name, status


def status_for(state: str, status: JobStatus, started: datetime | None, ended: datetime | None) -> JobStatus:
    """The status to store: a requeue-family row that ran is `preempted` (its run counts); a failed-family row
    that never started is `cancelled` (jobcost's one status for a job that ended without running)."""
    if state in REQUEUE_STATES and started is not None and ended is not None:
        return JobStatus.preempted
    if status is JobStatus.failed and started is None:
        return JobStatus.cancelled
    return status


# --- job ids -------------------------------------------------------------------------------------------------

_JOB_ID = re.compile(r"(?P<job>\d+(?:_\d+|\+\d+)?)(?:\.(?P<step>[A-Za-z0-9_+-]+))?", re.ASCII)
_PENDING_RANGE = re.compile(r"\d+_\[[^\]]*\]", re.ASCII)


@dataclass(frozen=True, slots=True)
class SlurmJobId:
    """A sacct `JobID` taken apart: `job` (`123`, `123_4` array task, `123+1` het component), `step` (`batch`,
    `extern`, `0`, … or None for the job itself), `pending_range` for `123_[1-40%4]` (tasks not yet started)."""

    job: str
    step: str | None = None
    pending_range: bool = False


def parse_job_id(text: str) -> SlurmJobId:
    """`123`, `123_4`, `123+1`, `123.batch`, `123_4.extern`, `123+1.0`, `123_[1-40%4]` → `SlurmJobId`, always
    as text (never an int: array and het ids are not numbers). Raises ValueError for anything else."""
    cleaned = text.strip()
    if _PENDING_RANGE.fullmatch(cleaned):
        return SlurmJobId(cleaned, pending_range=True)
    match = _JOB_ID.fullmatch(cleaned)
    if match is None:
        raise ValueError(f"{text!r} is not a Slurm job id (123, 123_4, 123+1, 123.batch, …)")
    return SlurmJobId(match["job"], match["step"])


# --- the field list ------------------------------------------------------------------------------------------

_FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*", re.ASCII)
_OPTIONAL_TAIL = re.compile(r"(?P<head>.*?),?\[,?(?P<name>[^\[\],]+)\]", re.DOTALL)


def parse_field_list(fields: tuple[str, ...] | list[str] | str,
                     source: str = "--fields") -> tuple[tuple[str, ...], str | None]:
    """A `--fields` list (`State,JobID,…,TotalCPU[,Partition]`, as one string or already split at commas) →
    (the fields every row has, the optional last field or None). Only the last field may be optional, written
    `[,Name]` or `,[Name]`. Raises ImporterConfigError, its message starting with `source` (where the list came
    from), for an empty list, a name that is not a sacct field name, a name given twice, or misplaced brackets."""
    text = fields if isinstance(fields, str) else ",".join(fields)
    optional = None
    tail = _OPTIONAL_TAIL.fullmatch(text.strip())
    if tail is not None:
        text, optional = tail["head"], tail["name"].strip()
    names = [name.strip() for name in text.split(",") if name.strip()]
    every = [*names, optional] if optional else names
    if not names:
        raise ImporterConfigError(f"{source}: no field names (e.g. --fields JobID,Account,State,Start,End)")
    bad = [name for name in every if not _FIELD_NAME.fullmatch(name)]
    if bad:
        raise ImporterConfigError(f"{source}: {bad[0]!r} is not a sacct field name; only the last field may be "
                                  "optional, written [,Name] (e.g. …,TotalCPU[,Partition])")
    folded = [name.casefold() for name in every]
    twice = sorted({name for name in every if folded.count(name.casefold()) > 1})
    if twice:
        raise ImporterConfigError(f"{source}: {', '.join(twice)} given twice")
    return tuple(names), optional


@dataclass(frozen=True, slots=True)
class Layout:
    """The columns of the file: `names` every row has, then `optional` (a row may have it or not)."""

    names: tuple[str, ...]
    optional: str | None

    @property
    def keys(self) -> tuple[str, ...]:
        every = (*self.names, self.optional) if self.optional else self.names
        return tuple(name.casefold() for name in every)

    def has(self, name: str) -> bool:
        return name.casefold() in self.keys

    def expected(self) -> str:
        n = len(self.names)
        return f"{n} or {n + 1}" if self.optional else f"{n}"

    def cells(self, parts: list[str]) -> dict[str, str] | None:
        """Field (case-folded) → stripped cell, or None when the row's field count fits neither layout."""
        n = len(self.names)
        if len(parts) != n and not (self.optional and len(parts) == n + 1):
            return None
        cells = dict.fromkeys(self.keys, "")
        cells.update(zip(self.keys, (part.strip() for part in parts), strict=False))
        return cells


def same_columns(header: Layout, given: tuple[tuple[str, ...], str | None]) -> bool:
    """Whether the header's columns are `--fields`' (any case), with or without its optional last field."""
    names, optional = given
    wanted = [n.casefold() for n in names]
    found = [n.casefold() for n in header.names]
    return found == wanted or (optional is not None and found == [*wanted, optional.casefold()])
