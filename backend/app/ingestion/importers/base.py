"""What every importer shares: the options a user gives (`ImportOptions`), the account of every row read
(`Tally`), and the shape of what an importer yields (`MappedRow`).

An importer turns one export format (sacct text, a FOCUS CSV, a pod listing, …) into job records in the wire
shape of `POST /api/v1/admin/ingest/jobs` (`JobIn`: strings, RFC 3339 instants with an offset, decimal strings
for amounts). It reads a text stream line by line and yields records as it goes, so memory stays flat however
large the file. Every row it reads ends in exactly one place: mapped to a job, folded into a job already mapped
(a Slurm step into its job), or skipped with a reason; `Tally.check()` proves it. Importers never touch the
database or the network.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import Any, ClassVar, Protocol, TextIO

EXAMPLES_PER_REASON = 3


class ImporterConfigError(ValueError):
    """The options do not fit the format or the file (a missing `--epoch`, an unknown column in `--map`, a file
    whose header is not the format's): the import cannot start. The message says which option and why."""


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """What the user tells an importer; each importer uses the options that apply to its format and refuses
    (ImporterConfigError) the ones it needs but did not get.

    - `cluster`: namespace for ids unique only within one cluster: job ids become `"<cluster>:<id>"`.
    - `team` / `team_from`: a fixed team, or the column (or FOCUS tag key) to read it from.
    - `model_from`: the column (or tag key) to read `model_name` from, where the format's default does not fit.
    - `provider`: overrides or supplies the provider.
    - `gpu_type`: the GPU type of every job (of every job with GPUs, where the format counts them).
    - `region`: the region or data centre of every job (where the export has none, or to override it).
    - `tz`: the zone naive timestamps are read in (default UTC); `tz_name` is how the user wrote it.
    - `epoch`: the aware instant relative trace times count from (Alibaba traces).
    - `fields`: the column list of a header-less export (sacct `--format`).
    - `mapping`: for `csv` and `ndjson`: job field → source column.
    """

    cluster: str | None = None
    team: str | None = None
    team_from: str | None = None
    model_from: str | None = None
    provider: str | None = None
    gpu_type: str | None = None
    region: str | None = None
    tz: tzinfo = UTC
    tz_name: str = "UTC"
    epoch: datetime | None = None
    fields: tuple[str, ...] | None = None
    mapping: dict[str, str] = field(default_factory=dict)


# The command-line spelling of each ImportOptions field, for messages.
OPTION_FLAGS = {"cluster": "--cluster", "team": "--team", "team_from": "--team-from", "model_from": "--model-from",
                "provider": "--provider", "gpu_type": "--gpu-type",
                "region": "--region", "tz": "--tz", "tz_name": "--tz", "epoch": "--epoch",
                "fields": "--fields", "mapping": "--map/--map-file"}


def refuse_unused_options(options: ImportOptions, format_name: str, *names: str) -> None:
    """Raise ImporterConfigError naming the first of `names` (ImportOptions fields) that the user set although
    `format_name` has no use for it: an option silently ignored would look applied."""
    defaults = ImportOptions()
    for name in names:
        if getattr(options, name) != getattr(defaults, name):
            raise ImporterConfigError(f"{OPTION_FLAGS[name]}: the {format_name} importer does not use this option "
                                      f"(see docs/importers/); leave it out")


@dataclass(slots=True)
class RepeatedIds:
    """Job ids that more than one row of a file carries. The service keeps one job per id (the last row's), so
    rows that share an id are silently one job unless the user is told. Ids are remembered by their 64-bit hash,
    not their text, to keep memory small on large files; two different ids of one file share a hash with a
    probability of about n² / 2⁶⁵ (3·10⁻⁸ for a million ids)."""

    rows: int = 0  # rows whose id an earlier row had
    examples: list[str] = field(default_factory=list)
    _seen: set[int] = field(default_factory=set)
    _repeated: set[int] = field(default_factory=set)

    def see(self, job_id: Any, line: int) -> None:
        """Count the id of the row starting at `line` (ids are compared as ingest stores them: trimmed text)."""
        if not isinstance(job_id, str) or not job_id.strip():
            return
        key = hash(job_id.strip())
        if key not in self._seen:
            self._seen.add(key)
            return
        self.rows += 1
        if key not in self._repeated:
            self._repeated.add(key)
            if len(self.examples) < EXAMPLES_PER_REASON:
                self.examples.append(f"{job_id.strip()!r} again at line {line}")

    @property
    def ids(self) -> int:
        """How many distinct ids are repeated."""
        return len(self._repeated)


@dataclass(slots=True)
class Tally:
    """The account of one import: every row read is mapped, folded or skipped (with a reason).

    `examples` keeps the first few skipped rows of each reason (`"line 12: <why>"`) to show the user;
    `skipped_amounts` sums money left out with a reason (FOCUS credits), in USD; `notes` says what the importer
    assumed (the time zone used, the epoch, a GPU type picked among several); `repeated_ids` counts the mapped
    rows whose job id an earlier row had (filled by whoever reads the rows: `jobcost ingest`)."""

    rows_read: int = 0
    mapped: int = 0
    folded: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    skipped_amounts: dict[str, Decimal] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    repeated_ids: RepeatedIds = field(default_factory=RepeatedIds)

    def read(self) -> None:
        self.rows_read += 1

    def map(self) -> None:
        self.mapped += 1

    def fold(self) -> None:
        self.folded += 1

    def skip(self, reason: str, line: int, detail: str = "", amount: Decimal | None = None) -> None:
        """Count one row skipped for `reason` (a short, stable phrase: "credit row", "no time at all")."""
        self.skipped[reason] += 1
        shown = self.examples.setdefault(reason, [])
        if len(shown) < EXAMPLES_PER_REASON:
            shown.append(f"line {line}: {detail}" if detail else f"line {line}")
        if amount is not None:
            self.skipped_amounts[reason] = self.skipped_amounts.get(reason, Decimal(0)) + amount

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def check(self) -> None:
        """Raise AssertionError unless every row read was mapped, folded or skipped."""
        accounted = self.mapped + self.folded + self.skipped_total
        if accounted != self.rows_read:
            raise AssertionError(f"{self.rows_read} rows read but {accounted} accounted for")


@dataclass(frozen=True, slots=True)
class MappedRow:
    """One job record in the `JobIn` wire shape, and the 1-based line of the source where its row starts."""

    line: int
    record: dict[str, Any]


class Importer(Protocol):
    """One export format. `format` is its name on the command line (`--format slurm`)."""

    format: ClassVar[str]

    def __init__(self, options: ImportOptions) -> None: ...

    def read(self, stream: TextIO, tally: Tally) -> Iterator[MappedRow]:
        """Yield the jobs of `stream` as they are read, counting every row in `tally`. Raises
        ImporterConfigError when the file or the options cannot be imported at all (before yielding)."""
        ...


def rfc3339(instant: datetime) -> str:
    """An aware datetime as the RFC 3339 text records carry: UTC with `Z`, milliseconds only when there are any
    (`2026-01-14T08:00:00Z`, `2026-01-14T08:03:04.500Z`; jobcost keeps timestamps to the millisecond)."""
    utc = instant.astimezone(UTC)
    return utc.isoformat(timespec="milliseconds" if utc.microsecond else "seconds").replace("+00:00", "Z")


def csv_records(stream: TextIO) -> Iterator[tuple[int, list[str] | str]]:
    """(1-based line where the record starts, its fields) for each non-blank CSV record; for a record the csv
    module cannot read (a field over its size limit), the reason as text instead of the fields."""
    reader = csv.reader(stream)
    next_line = 1
    while True:
        try:
            fields: list[str] | str = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            fields = f"unreadable CSV: {exc}"
        line, next_line = next_line, reader.line_num + 1
        if fields:
            yield line, fields
