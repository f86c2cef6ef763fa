"""`--format k8s-pods`: Kubernetes-style pod listings with creation, scheduling and deletion times and GPU
requests, as jobs. Two layouts are recognised by their header:

- **openb** — the Alibaba cluster-trace-gpu-v2023 pod lists (`name, cpu_milli, memory_mib, num_gpu, gpu_milli,
  gpu_spec, qos, pod_phase, creation_time, deletion_time, scheduled_time`);
- **dlrm** — the Alibaba cluster-trace-gpu-v2025 DLRM serving instances (`instance_sn, role, app_name, …,
  gpu_request, …, creation_time, scheduled_time, deletion_time`).

Times are seconds after an undisclosed trace start, so the user anchors them with `--epoch`. A pod's run is from
its scheduling (when it got its GPUs) to its deletion; a pod with a deletion time has ended whatever its phase
snapshot says; a pod still alive at the end of the trace is `running`, observed at the trace's last instant (the
largest time in the file, found in a first pass: the stream must be seekable). docs/importers/k8s-pods.md gives the
mapping column by column.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any, ClassVar, TextIO

from app.ingestion.importers.base import (
    ImporterConfigError,
    ImportOptions,
    MappedRow,
    Tally,
    csv_records,
    refuse_unused_options,
    rfc3339,
)
from app.ingestion.normalize import EARLIEST, MAX_RUN

TIME_COLUMNS = ("creation_time", "scheduled_time", "deletion_time")
MILLISECOND = Decimal("0.001")
MAX_RUN_SECONDS = Decimal(int(MAX_RUN.total_seconds()))
# Seconds or GPUs: up to 15 integer digits (seconds: far past any datetime), any fraction.
_PLAIN_NUMBER = re.compile(r"\d{1,15}(?:\.\d*)?", re.ASCII)
_PHASES = frozenset({"pending", "running", "succeeded", "failed", "unknown"})
_FINISHED_PHASES = {"succeeded": "succeeded", "failed": "failed"}


@dataclass(frozen=True, slots=True)
class Layout:
    """One known pod-list layout: the columns it must have (`header` is the full published header, for
    messages), its id column, default provider and model column, and the columns kept as labels."""

    name: str
    header: tuple[str, ...]
    required: tuple[str, ...]
    id_column: str
    provider: str
    default_model_from: str | None
    label_columns: tuple[str, ...]


OPENB = Layout(
    name="openb",
    header=("name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli", "gpu_spec", "qos", "pod_phase",
            "creation_time", "deletion_time", "scheduled_time"),
    required=("name", "num_gpu", "gpu_milli", "gpu_spec", "pod_phase", *TIME_COLUMNS),
    id_column="name", provider="alibaba-openb", default_model_from=None,
    label_columns=("qos", "pod_phase", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli", "gpu_spec"),
)
DLRM = Layout(
    name="dlrm",
    header=("instance_sn", "role", "app_name", "cpu_request", "cpu_limit", "gpu_request", "gpu_limit",
            "rdma_request", "rdma_limit", "memory_request", "memory_limit", "disk_request", "disk_limit",
            "max_instance_per_node", "creation_time", "scheduled_time", "deletion_time"),
    required=("instance_sn", "role", "app_name", "gpu_request", *TIME_COLUMNS),
    id_column="instance_sn", provider="alibaba-dlrm", default_model_from="app_name",
    label_columns=("role", "app_name", "cpu_request", "cpu_limit", "gpu_limit", "rdma_request", "rdma_limit",
                   "memory_request", "memory_limit", "disk_request", "disk_limit", "max_instance_per_node"),
)
LAYOUTS = (OPENB, DLRM)


@dataclass(frozen=True, slots=True)
class _Skip:
    reason: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class _Times:
    """A pod's times in seconds after the epoch, cut to the millisecond; None where the cell is empty."""

    created: Decimal | None
    scheduled: Decimal | None
    deleted: Decimal | None


@dataclass(frozen=True, slots=True)
class _Life:
    """What a pod's times and phase say: its status and run, in seconds after the epoch."""

    status: str
    submitted: Decimal | None
    started: Decimal | None
    ended: Decimal | None
    left_censored: bool


@dataclass(frozen=True, slots=True)
class _Gpus:
    count: str
    gpu_type: str | None
    several_models: bool


@dataclass(frozen=True, slots=True)
class _Pod:
    """One row read: its id, phase (openb; None for DLRM or an empty cell), times and GPUs."""

    pod_id: str
    phase: str | None
    times: _Times
    gpus: _Gpus


@dataclass(frozen=True, slots=True)
class _Clock:
    """The user's epoch and the trace's last instant (seconds after the epoch)."""

    epoch: datetime
    last: Decimal

    def instant(self, seconds: Decimal) -> datetime:
        return self.epoch + timedelta(milliseconds=int(seconds * 1000))


class PodListImporter:
    """Pod listings (openb or DLRM layout) → one job per pod (see the module docstring)."""

    format: ClassVar[str] = "k8s-pods"

    def __init__(self, options: ImportOptions) -> None:
        # Trace times are offsets from --epoch, so no zone applies; the layouts are fixed, so no --fields.
        refuse_unused_options(options, "k8s-pods", "fields", "tz_name")
        self.options = options

    def read(self, stream: TextIO, tally: Tally) -> Iterator[MappedRow]:
        """Yield one job per pod of `stream`, counting every row in `tally`. Raises ImporterConfigError (before
        yielding) without `--epoch`, with `--map`, for a stream that cannot be read twice, a header of neither
        layout, no team (`--team` or `--team-from`), an unknown `--team-from`/`--model-from` column, or an
        epoch so recent that the trace would end in the future."""
        epoch = self._check_options()
        if not stream.seekable():
            raise ImporterConfigError("k8s-pods reads the file twice (first to find the trace's last instant): "
                                      "give a file, not a pipe")
        start = stream.tell()
        layout, header, last = self._first_pass(stream)
        clock = _clock(epoch, last)
        stream.seek(start)
        records = csv_records(stream)
        next(records)  # the header, read in the first pass
        _start_notes(tally, layout, clock, self.options.gpu_type)
        counts: Counter[str] = Counter()
        for line, fields in records:
            tally.read()
            outcome = self._map(layout, header, fields, clock, counts)
            if isinstance(outcome, _Skip):
                tally.skip(outcome.reason, line, outcome.detail)
                continue
            tally.map()
            yield MappedRow(line, outcome)
        _end_notes(tally, counts, clock)

    def _check_options(self) -> datetime:
        """The epoch, once the options are known to fit this format."""
        epoch = self.options.epoch
        if epoch is None:
            raise ImporterConfigError("k8s-pods needs --epoch: the trace's times are seconds after an undisclosed "
                                      "start; give the instant they count from (e.g. --epoch 2023-01-01T00:00:00Z)")
        if epoch.tzinfo is None or epoch.utcoffset() is None:
            raise ImporterConfigError("--epoch needs a UTC offset (e.g. 2023-01-01T00:00:00Z)")
        if epoch < EARLIEST:
            raise ImporterConfigError("--epoch must not be before 1970-01-01T00:00:00Z (jobcost keeps no earlier "
                                      "instants)")
        if self.options.mapping:
            raise ImporterConfigError("k8s-pods takes no --map: it reads the openb and DLRM layouts by their header")
        if self.options.team is not None and self.options.team_from is not None:
            raise ImporterConfigError("k8s-pods: give --team or --team-from, not both")
        if self.options.team is None and self.options.team_from is None:
            raise ImporterConfigError("k8s-pods needs --team NAME or --team-from COLUMN: pod lists carry no team "
                                      "(for the DLRM trace, --team-from app_name groups by service)")
        return epoch

    def _first_pass(self, stream: TextIO) -> tuple[Layout, list[str], Decimal]:
        """The layout, the header and the largest time in the file (seconds; 0 when it has none)."""
        records = csv_records(stream)
        first = next(records, None)
        if first is None:
            raise ImporterConfigError(f"k8s-pods: the file is empty; {_expected()}")
        if isinstance(first[1], str):
            raise ImporterConfigError(f"k8s-pods: the header line is not readable ({first[1]})")
        header = [name.strip() for name in first[1]]
        header[0] = header[0].removeprefix("\ufeff")
        layout = _detect(header)
        for option, column in (("--team-from", self.options.team_from), ("--model-from", self.options.model_from)):
            if column is not None and column not in header:
                raise ImporterConfigError(f"{option} {column}: no such column; the file has {', '.join(header)}")
        return layout, header, _last_second(records, header)

    def _map(self, layout: Layout, header: list[str], fields: list[str] | str, clock: _Clock,
             counts: Counter[str]) -> dict[str, Any] | _Skip:
        if isinstance(fields, str):
            return _Skip("malformed row", fields)
        if len(fields) != len(header):
            return _Skip("malformed row", f"{len(fields)} fields, the header has {len(header)}")
        row = {name: value.strip() for name, value in zip(header, fields, strict=True)}
        pod = _pod(layout, row)
        if isinstance(pod, _Skip):
            return pod
        life = _lifecycle(pod.times, pod.phase, clock.last)
        if isinstance(life, _Skip):
            return life
        team = self.options.team or row[self.options.team_from or ""]
        if not team:
            return _Skip("no team", f"{self.options.team_from} is empty")
        _count(counts, pod, life, clock.last)
        return self._record(layout, row, pod, team, life, clock)

    def _record(self, layout: Layout, row: dict[str, str], pod: _Pod, team: str, life: _Life,
                clock: _Clock) -> dict[str, Any]:
        model_column = self.options.model_from or layout.default_model_from
        record: dict[str, Any] = {
            "job_id": f"{self.options.cluster}:{pod.pod_id}" if self.options.cluster else pod.pod_id,
            "team": team, "status": life.status, "gpu_count": pod.gpus.count,
            "provider": self.options.provider or layout.provider,
            "labels": _labels(layout, row, life),
        }
        instants = {"submitted_at": life.submitted, "started_at": life.started, "ended_at": life.ended,
                    "observed_at": clock.last if life.status == "running" else None}
        record.update({name: rfc3339(clock.instant(seconds)) for name, seconds in instants.items()
                       if seconds is not None})
        model = row.get(model_column or "") or None
        gpu_type = self.options.gpu_type if self.options.gpu_type and pod.gpus.count != "0" else pod.gpus.gpu_type
        record.update({name: value for name, value in (("model_name", model), ("gpu_type", gpu_type))
                       if value is not None})
        return record


def _clock(epoch: datetime, last: Decimal) -> _Clock:
    """The clock of a trace whose last time is `last` s; refuses (ImporterConfigError) a trace that would end in
    the future, or beyond what a datetime holds."""
    clock = _Clock(epoch, last)
    try:
        end = clock.instant(last)
    except OverflowError:
        raise ImporterConfigError(f"k8s-pods: the trace's last time, {_text(last)} s, is too far after --epoch") \
            from None
    if end > datetime.now(UTC):
        raise ImporterConfigError(
            f"--epoch {rfc3339(epoch)}: the trace runs {_text(last)} s after it, to {rfc3339(end)}, which is in "
            f"the future; give an epoch at least {_text(last)} s before now")
    return clock


def _pod(layout: Layout, row: dict[str, str]) -> _Pod | _Skip:
    pod_id = row[layout.id_column]
    if not pod_id:
        return _Skip("no pod id", f"{layout.id_column} is empty")
    phase = _phase(row) if layout is OPENB else None
    if isinstance(phase, _Skip):
        return phase
    times = _times(row)
    if isinstance(times, _Skip):
        return times
    gpus = _openb_gpus(row) if layout is OPENB else _dlrm_gpus(row)
    if isinstance(gpus, _Skip):
        return gpus
    return _Pod(pod_id, phase, times, gpus)


def _count(counts: Counter[str], pod: _Pod, life: _Life, last: Decimal) -> None:
    """Count what the end notes report."""
    if life.status == "cancelled" and life.started is not None:
        counts["deleted while running"] += 1
    if life.started is None:
        counts[f"never ran ({life.status})"] += 1
    counts["running"] += life.status == "running"
    counts["several models"] += pod.gpus.several_models
    counts["left-censored"] += life.left_censored
    counts["right-censored"] += life.ended == last and life.status == "cancelled" and life.started is not None


def _start_notes(tally: Tally, layout: Layout, clock: _Clock, gpu_type: str | None) -> None:
    tally.note(f"layout {layout.name} ({', '.join(layout.required)})")
    if gpu_type:
        kept = "; the models gpu_spec lists stay in label gpu_spec" if layout is OPENB else ""
        tally.note(f"--gpu-type {gpu_type}: the GPU type of every pod with GPUs{kept}")
    tally.note(f"times are seconds after --epoch {rfc3339(clock.epoch)}, cut to the millisecond; the trace's "
               f"last instant is {_text(clock.last)} s, {rfc3339(clock.instant(clock.last))}: pods still alive "
               "then are running, observed at that instant")


def _end_notes(tally: Tally, counts: Counter[str], clock: _Clock) -> None:
    tally.note(f"{counts['deleted while running']} pods were deleted after they started with no final phase "
               "(a Running, Pending or Unknown snapshot, or no phase): reported cancelled, ended at deletion_time")
    if counts["never ran (cancelled)"] or counts["never ran (queued)"]:
        tally.note(f"{counts['never ran (cancelled)']} pods were deleted before they were scheduled: cancelled, "
                   f"never started; {counts['never ran (queued)']} were never scheduled and not deleted: queued")
    tally.note(f"{counts['running']} pods have no deletion time: running, observed at {_text(clock.last)} s")
    if counts["right-censored"]:
        tally.note(f"{counts['right-censored']} of the pods reported cancelled were deleted at the trace's last "
                   "instant: they may have been still running when the trace was cut")
    if counts["left-censored"]:
        tally.note(f"{counts['left-censored']} pods existed before the trace start (no creation or scheduled time, "
                   "but a deletion time): started at the epoch (label left_censored)")
    if counts["several models"]:
        tally.note(f"{counts['several models']} pods allowed several GPU models (gpu_spec): gpu_type is the first "
                   "listed; the whole list is in label gpu_spec")


def _expected() -> str:
    return "expected a pod list with the header of " + "; or of ".join(
        f"{layout.name} ({','.join(layout.header)})" for layout in LAYOUTS)


def _detect(header: list[str]) -> Layout:
    for layout in LAYOUTS:
        if set(layout.required) <= set(header):
            return layout
    raise ImporterConfigError(f"k8s-pods: unknown header ({','.join(header)[:300]}); {_expected()}")




def _last_second(records: Iterator[tuple[int, list[str] | str]], header: list[str]) -> Decimal:
    """The largest readable time of the remaining records (0 when none). Malformed rows and unreadable cells
    are passed over here: the second pass skips and reports them."""
    columns = [header.index(name) for name in TIME_COLUMNS]
    last = Decimal(0)
    for _line, fields in records:
        if isinstance(fields, str) or len(fields) != len(header):
            continue
        for index in columns:
            seconds = _seconds(fields[index])
            if isinstance(seconds, Decimal) and seconds > last:
                last = seconds
    return last


def _seconds(text: str) -> Decimal | None | _Skip:
    """Seconds ≥ 0 read exactly from the decimal text ("475.00000000000006") and cut to the millisecond;
    None for an empty cell."""
    text = text.strip()
    if not text:
        return None
    if not _PLAIN_NUMBER.fullmatch(text) or len(text) > 64:
        return _Skip("bad time", f"{text[:40]!r} is not a number of seconds ≥ 0")
    return Decimal(text).quantize(MILLISECOND, rounding=ROUND_DOWN)


def _times(row: dict[str, str]) -> _Times | _Skip:
    values = {}
    for column in TIME_COLUMNS:
        value = _seconds(row[column])
        if isinstance(value, _Skip):
            return _Skip(value.reason, f"{column} {value.detail}")
        values[column] = value
    times = _Times(values["creation_time"], values["scheduled_time"], values["deletion_time"])
    present = [(name, v) for name, v in zip(TIME_COLUMNS, (times.created, times.scheduled, times.deleted),
                                             strict=True) if v is not None]
    for (first, early), (second, late) in zip(present, present[1:], strict=False):
        if late < early:
            return _Skip("times out of order", f"{second} {_text(late)} is before {first} {_text(early)}")
    return times


def _phase(row: dict[str, str]) -> str | None | _Skip:
    phase = row["pod_phase"].casefold() or None
    if phase is not None and phase not in _PHASES:
        return _Skip("unknown pod_phase", f"pod_phase {row['pod_phase'][:40]!r}")
    return phase


def _lifecycle(times: _Times, phase: str | None, last: Decimal) -> _Life | _Skip:
    """Status and run of a pod. Started = scheduled (or the trace start for a pod that existed before it);
    with a deletion time it has ended: failed/succeeded as its phase says, otherwise cancelled; without one it
    is running if it started, else queued."""
    if times.created is None and times.scheduled is None and times.deleted is None:
        return _Skip("no time at all", "no creation, scheduled or deletion time")
    left_censored = times.created is None and times.scheduled is None
    started = Decimal(0) if left_censored else times.scheduled
    end = times.deleted if times.deleted is not None else last
    if started is not None and end - started > MAX_RUN_SECONDS:
        return _Skip("run over 366 days", f"runs from {_text(started)} s to {_text(end)} s")
    if times.deleted is not None:
        status = _FINISHED_PHASES.get(phase or "", "cancelled") if started is not None else "cancelled"
        return _Life(status, times.created, started, times.deleted, left_censored)
    if phase in _FINISHED_PHASES:
        return _Skip("finished but no deletion time", f"pod_phase {phase} with no deletion_time: its end is unknown")
    return _Life("running" if started is not None else "queued", times.created, started, None, left_censored)


def _text(number: Decimal) -> str:
    """A decimal without trailing zeros or exponent (12902960.000 → "12902960", 0.460 → "0.46")."""
    return f"{number.normalize():f}"


def _milli_text(milli: int) -> str:
    """Thousandths of a GPU as a decimal string with at most 3 places (460 → "0.46", 8000 → "8")."""
    return _text(Decimal(milli).scaleb(-3))


def _openb_gpus(row: dict[str, str]) -> _Gpus | _Skip:
    """num_gpu × gpu_milli / 1000 GPUs; the first model of gpu_spec (pipe-separated) when it has GPUs."""
    num, share = row["num_gpu"], row["gpu_milli"] or "0"
    whole = all(text.isascii() and text.isdigit() and len(text) <= 9 for text in (num, share))
    if not whole or int(share) > 1000:
        return _Skip("bad GPU request", f"num_gpu {num[:20]!r}, gpu_milli {share[:20]!r}: want whole numbers, "
                                        "gpu_milli at most 1000")
    milli = int(num) * int(share)
    models = [model.strip() for model in row["gpu_spec"].split("|") if model.strip()]
    gpu_type = models[0] if models and milli else None
    return _Gpus(_milli_text(milli), gpu_type, len(set(models)) > 1)


def _dlrm_gpus(row: dict[str, str]) -> _Gpus | _Skip:
    text = row["gpu_request"] or "0"
    count = Decimal(text) if _PLAIN_NUMBER.fullmatch(text) and len(text) <= 64 else None
    if count is None or count != count.quantize(MILLISECOND):
        return _Skip("bad GPU request", f"gpu_request {text[:20]!r}: want a number ≥ 0 with at most 3 places")
    return _Gpus(_milli_text(int(count * 1000)), None, False)


def _labels(layout: Layout, row: dict[str, str], life: _Life) -> dict[str, str]:
    labels = {name: row[name] for name in layout.label_columns if row.get(name)}
    if life.left_censored:
        labels["left_censored"] = "true"
    return labels




IMPORTERS = {"k8s-pods": PodListImporter}
