"""`--format slurm`: Slurm accounting text (`sacct --parsable2`, `|`-separated) → job records.

One job row becomes one job; its step rows (`.batch`, `.extern`, `.interactive`, `.0`, …) are folded into it,
never jobs of their own. The user-facing mapping, with every default and every reason a row is skipped, is in
`docs/importers/slurm.md`; the parsers of single cells and of the field list (`parse_duration`, `parse_tres`,
`gpus_from_tres`, `map_state`, `parse_job_id`, `parse_sacct_time`, `parse_field_list`) are in `slurm_fields.py`,
public so that it can point at them; energy and GPU utilisation are read by `slurm_energy.py`, the lines and the
step book kept by `slurm_rows.py`. This module assembles jobs from rows and folds their steps.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import chain
from typing import Any, ClassVar, TextIO

from app.db.models import JobStatus
from app.ingestion.importers.base import ImporterConfigError, ImportOptions, MappedRow, Tally, rfc3339
from app.ingestion.importers.slurm_energy import energy_kwh, row_utilization
from app.ingestion.importers.slurm_fields import (
    NO_TIME,
    GpuAllocation,
    Layout,
    gpus_from_tres,
    map_state,
    parse_duration,
    parse_field_list,
    parse_job_id,
    parse_sacct_time,
    parse_tres,
    same_columns,
    status_for,
)
from app.ingestion.importers.slurm_rows import Lines, StepBook

# Fields the importer cannot do without, and the AWS sample's header-less field list (its SOURCE.txt).
REQUIRED_FIELDS = ("JobID", "State", "Start", "End")
AWS_SAMPLE_FIELDS = ("State,JobID,ReqCPUS,ReqMem,ReqNodes,Constraints,Submit,Eligible,Start,Elapsed,Suspended,End,"
                     "ExitCode,DerivedExitCode,AllocNodes,NCPUS,MaxDiskRead,MaxDiskWrite,MaxPages,MaxRSS,MaxVMSize,"
                     "CPUTime,UserCPU,SystemCPU,TotalCPU[,Partition]")
# (label key, sacct fields in order of preference): copied into `labels` when the row has a value.
_LABEL_FIELDS = (("partition", ("partition",)), ("constraints", ("constraints",)),
                 ("nodes", ("allocnodes", "nnodes")))

# --- rows ----------------------------------------------------------------------------------------------------

class _Skip(Exception):
    """One row cannot become a job: `reason` (a short stable phrase for the tally) and `detail`."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(reason)
        self.reason, self.detail = reason, detail


class SlurmImporter:
    """`sacct --parsable2` output (with or without its header line) → one job record per job row.

    Options used: `fields` (required without a header), `cluster` (job ids become `"<cluster>:<id>"`), `team` or
    `team_from` (else the `Account` column), `model_from` (else `JobName`), `provider`, `gpu_type` (the type of
    every job with GPUs, else AllocTRES's), `tz` (the zone of Submit/Start/End). Raises ImporterConfigError,
    before yielding, when the columns or options cannot work."""

    format: ClassVar[str] = "slurm"

    def __init__(self, options: ImportOptions) -> None:
        self.options = options
        self._pending: tuple[str, MappedRow] | None = None  # the job held back for its steps (`_rows`)

    def read(self, stream: TextIO, tally: Tally) -> Iterator[MappedRow]:
        """Yield each job row of `stream` as a `JobIn` record, counting every row in `tally` (steps folded).
        Steps still waiting for their job and the note on ignored lines are settled once the stream is read to
        its end."""
        lines = Lines(stream)
        rows = iter(lines)
        first = next(rows, None)
        if first is None:
            self._check_options(None)
            lines.note(tally)
            return
        layout, header = self._layout(first[1])
        self._check_options(layout)
        self._notes(layout, tally)
        book = StepBook()
        rest = self._without_headers(rows, header, lines)
        yield from self._rows(rest if header is not None else chain([first], rest), layout, book, tally)
        book.finish(tally)
        lines.note(tally)

    @staticmethod
    def _without_headers(rows: Iterator[tuple[int, str]], header: str | None,
                         lines: Lines) -> Iterator[tuple[int, str]]:
        for number, text in rows:
            if header is not None and text.strip() == header:
                lines.repeated_headers += 1  # files concatenated, each with its header
                continue
            yield number, text

    def _rows(self, rows: Iterable[tuple[int, str]], layout: Layout, book: StepBook,
              tally: Tally) -> Iterator[MappedRow]:
        """Each job is held back until the next job row (or the end), so that the steps sacct writes right after
        it can lend it their GPU utilisation."""
        self._pending = None
        for number, text in rows:
            tally.read()
            mapped = self._row(number, text, layout, book, tally)
            if mapped is not None:
                if self._pending is not None:
                    yield self._pending[1]
                self._pending = (mapped[0], mapped[1])
        if self._pending is not None:
            yield self._pending[1]
        self._pending = None

    # -- set-up --

    def _layout(self, first: str) -> tuple[Layout, str | None]:
        """The columns, from the header line when the first row is one (it names `JobID`), else from `--fields`;
        and the header's text (None without a header)."""
        cells = [cell.strip() for cell in first.split("|")]
        given = parse_field_list(self.options.fields) if self.options.fields else None
        if not any(cell.casefold() in {"jobid", "jobidraw"} for cell in cells):
            if given is None:
                # The sample has no Account column either: name both flags it needs at once.
                team = "" if self.options.team or self.options.team_from else " --team NAME"
                raise ImporterConfigError(
                    "--fields: the file has no header line, so its columns must be named in sacct's --format "
                    "order, e.g. --fields JobID,Account,User,JobName,State,Submit,Start,End,Elapsed,AllocTRES "
                    f"(for the AWS hpc-cost-simulator sample: --fields '{AWS_SAMPLE_FIELDS}'{team})")
            return Layout(*given), None
        if any(not cell for cell in cells):
            raise ImporterConfigError("the header line has an empty field name (sacct --parsable ends lines with "
                                      "'|'; export with --parsable2)")
        header = Layout(*parse_field_list(tuple(cells), source="the header line"))
        if given is not None and not same_columns(header, given):
            raise ImporterConfigError(f"--fields: the file's header lists {','.join(cells)}, which differs from "
                                      "--fields; drop --fields (the header is enough) or correct it")
        return header, first.strip()

    def _check_options(self, layout: Layout | None) -> None:
        options = self.options
        if options.mapping:
            raise ImporterConfigError("--map: slurm reads sacct's columns by their names; use --team-from and "
                                      "--model-from to take the team or model from another column")
        if options.epoch is not None:
            raise ImporterConfigError("--epoch: sacct times are dates, not offsets from an epoch; use --tz for "
                                      "their zone")
        if options.team and options.team_from:
            raise ImporterConfigError("--team and --team-from: give one (a fixed team, or the column to read it "
                                      "from), not both")
        if layout is None:
            return
        missing = [name for name in REQUIRED_FIELDS if not layout.has(name)]
        if missing:
            raise ImporterConfigError(f"the columns lack {', '.join(missing)}: sacct --format must include "
                                      f"{', '.join(REQUIRED_FIELDS)}")
        for option, column in (("--team-from", options.team_from), ("--model-from", options.model_from)):
            if column and not layout.has(column):
                raise ImporterConfigError(f"{option}: no column {column!r} (columns: {','.join(layout.names)})")
        if not options.team and not options.team_from and not layout.has("Account"):
            raise ImporterConfigError("no team: the columns have no Account; pass --team NAME or "
                                      "--team-from COLUMN")

    def _notes(self, layout: Layout, tally: Tally) -> None:
        tally.note(f"Submit, Start and End read as wall-clock times in {self.options.tz_name} (--tz)")
        if not layout.has("AllocTRES"):
            tally.note("no AllocTRES column: every job is imported with 0 GPUs"
                       + (", so --gpu-type applies to none" if self.options.gpu_type else ""))
        elif self.options.gpu_type:
            tally.note(f"--gpu-type {self.options.gpu_type}: the GPU type of every job with GPUs; a type AllocTRES "
                       "names instead is kept in label tres_gpu_type")
        if not self.options.provider:
            tally.note("no --provider: jobs are stored without a provider, so their GPU time is unpriced")
        if not self.options.cluster and not layout.has("Cluster"):
            tally.note("no --cluster: job ids are stored as sacct prints them; pass --cluster NAME so that ids "
                       "from different clusters cannot collide")

    # -- one row --

    def _row(self, number: int, text: str, layout: Layout, book: StepBook,
             tally: Tally) -> tuple[str, MappedRow] | None:
        parts = text.split("|")
        cells = layout.cells(parts)
        if cells is None:
            tally.skip("wrong number of fields", number, f"{len(parts)} fields, expected {layout.expected()}")
            self._skipped_job(parts, layout, book, tally)
            return None
        try:
            job_id = parse_job_id(cells["jobid"])
        except ValueError as exc:
            tally.skip("unreadable JobID", number, str(exc))
            return None
        if job_id.pending_range:
            tally.skip("pending array range", number,
                       f"{job_id.job}: tasks not started yet (each is listed with its own id once it runs)")
            return None
        # Steps are matched to their job within one cluster: `5.batch` of cluster b is not a step of a:5.
        cluster = self._cluster(cells)
        book_key = f"{cluster}:{job_id.job}" if cluster else job_id.job
        if job_id.step is not None:
            book.step(book_key, number, tally)
            self._fold_utilization(book_key, job_id.step, cells, tally)
            return None
        try:
            record = self._record(job_id.job, cells, tally)
        except _Skip as skip:
            tally.skip(skip.reason, number, skip.detail)
            book.job(book_key, False, tally)
            return None
        tally.map()
        book.job(book_key, True, tally)
        return book_key, MappedRow(number, record)

    def _fold_utilization(self, key: str, step: str, cells: dict[str, str], tally: Tally) -> None:
        """A step of the job held back lends it its GPU utilisation when busier (not `extern`, which runs no
        work of the job)."""
        if self._pending is None or self._pending[0] != key or step == "extern":
            return
        record = self._pending[1].record
        try:
            share = row_utilization(cells, int(record.get("gpu_count", "0")))
        except ValueError as exc:
            tally.note(f"a step's GPU utilisation could not be read and was left out ({exc})")
            return
        if share is not None and share > Decimal(record.get("gpu_utilization", "-1")):
            record["gpu_utilization"] = str(share)

    def _skipped_job(self, parts: list[str], layout: Layout, book: StepBook, tally: Tally) -> None:
        """Tell the step book that the job of a row with the wrong number of fields was skipped, so that its steps
        are reported as `step of a skipped job`, not `step without its job`. The JobID (and Cluster) cells are
        read at their columns' positions, as far as the row reaches; a row whose JobID is no job id, or a step's,
        tells nothing."""
        cells = dict(zip(layout.keys, (part.strip() for part in parts), strict=False))
        try:
            job_id = parse_job_id(cells.get("jobid", ""))
        except ValueError:
            return
        if job_id.step is None and not job_id.pending_range:
            cluster = self._cluster(cells)
            book.job(f"{cluster}:{job_id.job}" if cluster else job_id.job, False, tally)

    def _record(self, job: str, cells: dict[str, str], tally: Tally) -> dict[str, Any]:
        """The `JobIn` record of one job row. Raises _Skip for a cell that cannot be read or a missing team."""
        try:
            state, status = map_state(cells["state"])
        except ValueError as exc:
            raise _Skip("unknown State", str(exc)) from None
        submitted, started, ended = (self._time(cells, name) for name in ("Submit", "Start", "End"))
        status = self._adjusted(state, status, started, ended, tally)
        gpus = self._gpus(cells)
        ran = status is not JobStatus.queued  # a queued job has not run: a Start sacct prints is only an estimate
        running = status is JobStatus.running  # a running job has no end yet, only the time it was seen
        record: dict[str, Any] = {
            "job_id": self._job_id(job, cells), "team": self._team(cells), "status": status.value,
            "model_name": cells.get((self.options.model_from or "JobName").casefold()) or None,
            "gpu_type": self._gpu_type(gpus), "gpu_count": str(gpus.count), "provider": self.options.provider or None,
            "user": cells.get("user") or None, "submitted_at": submitted, "started_at": started if ran else None,
            "ended_at": ended if ran and not running else None,
            "observed_at": self._observed(started, cells, tally) if running else None,
            "labels": self._labels(gpus, cells),
            "energy_kwh": self._energy(cells, tally), "gpu_utilization": self._utilization(cells, gpus),
            "region": self.options.region or None,  # sacct has no region: the data centre, given by --region
        }
        return {key: (rfc3339(value) if isinstance(value, datetime) else value)
                for key, value in record.items() if value is not None}

    @staticmethod
    def _adjusted(state: str, status: JobStatus, started: datetime | None, ended: datetime | None,
                  tally: Tally) -> JobStatus:
        adjusted = status_for(state, status, started, ended)
        if adjusted is not status:
            tally.note(f"{state} jobs {'that ran' if started else 'that never started (no Start)'} are stored as "
                       f"{adjusted.value}; the slurm_state label keeps their Slurm state")
        return adjusted

    @staticmethod
    def _energy(cells: dict[str, str], tally: Tally) -> str | None:
        try:
            kwh, column = energy_kwh(cells)
        except ValueError as exc:
            raise _Skip("unreadable ConsumedEnergy", str(exc)) from None
        if column == "ConsumedEnergy":
            tally.note("energy read from ConsumedEnergy, which sacct rounds (1.23M J); export ConsumedEnergyRaw "
                       "for exact joules")
        return None if kwh is None else str(kwh)

    @staticmethod
    def _utilization(cells: dict[str, str], gpus: GpuAllocation) -> str | None:
        try:
            share = row_utilization(cells, gpus.count)
        except ValueError as exc:
            raise _Skip("unreadable TRESUsageIn", str(exc)) from None
        return None if share is None else str(share)

    def _time(self, cells: dict[str, str], name: str) -> datetime | None:
        try:
            return parse_sacct_time(cells.get(name.casefold(), ""), self.options.tz)
        except ValueError as exc:
            raise _Skip(f"unreadable {name}", f"{name}: {exc}") from None

    def _gpus(self, cells: dict[str, str]) -> GpuAllocation:
        try:
            return gpus_from_tres(parse_tres(cells.get("alloctres", "")))
        except ValueError as exc:
            raise _Skip("unreadable AllocTRES", f"AllocTRES: {exc}") from None

    def _gpu_type(self, gpus: GpuAllocation) -> str | None:
        """`--gpu-type` for a job with GPUs, else the type AllocTRES names (if any)."""
        return self.options.gpu_type if self.options.gpu_type and gpus.count > 0 else gpus.gpu_type

    def _observed(self, started: datetime | None, cells: dict[str, str], tally: Tally) -> datetime | None:
        """Start + Elapsed: when sacct measured the running job (its run so far is costed up to there)."""
        text = cells.get("elapsed", "")
        if started is None:
            return None  # the service refuses a running job without started_at, saying so
        if text.casefold() in NO_TIME:
            tally.note("running jobs without Elapsed are observed at the time of ingest")
            return None
        try:
            seconds = parse_duration(text)
        except ValueError as exc:
            raise _Skip("unreadable Elapsed", f"Elapsed: {exc}") from None
        try:
            return started + timedelta(microseconds=int(seconds * 1_000_000))
        except OverflowError:
            raise _Skip("unreadable Elapsed", f"Elapsed: {text!r} runs past the year 9999") from None

    def _cluster(self, cells: dict[str, str]) -> str:
        """`--cluster`, else the row's `Cluster` column, else "" (no namespace)."""
        return (self.options.cluster or cells.get("cluster") or "").strip()

    def _job_id(self, job: str, cells: dict[str, str]) -> str:
        cluster = self._cluster(cells)
        return f"{cluster}:{job}" if cluster else job

    def _team(self, cells: dict[str, str]) -> str:
        if self.options.team:
            return self.options.team
        column = self.options.team_from or "Account"
        team = cells.get(column.casefold(), "")
        if not team:
            raise _Skip("no team", f"{column} is empty (pass --team NAME to import every job under one team)")
        return team

    def _labels(self, gpus: GpuAllocation, cells: dict[str, str]) -> dict[str, str]:
        labels = {"slurm_state": cells["state"]}
        for key, names in _LABEL_FIELDS:
            value = next((cells[n] for n in names if cells.get(n)), "")
            if value:
                labels[key] = value
        cluster = self._cluster(cells)
        if cluster:
            labels["cluster"] = cluster
        if (self.options.team or self.options.team_from) and cells.get("account"):
            labels["account"] = cells["account"]
        if gpus.gpu_type == "mixed":
            labels["gpu_types"] = ",".join(f"{name}={n}" for name, n in sorted(gpus.types.items()) if n > 0)
        if gpus.gpu_type and self._gpu_type(gpus) != gpus.gpu_type:
            labels["tres_gpu_type"] = gpus.gpu_type  # what AllocTRES said, replaced by --gpu-type
        return labels


IMPORTERS: dict[str, type[SlurmImporter]] = {"slurm": SlurmImporter}
