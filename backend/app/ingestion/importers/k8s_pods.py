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
mapping column by column. The layouts and the readers of a row's cells are in `k8s_pods_fields.py`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar, TextIO

from app.ingestion.field_rules import EARLIEST
from app.ingestion.importers.base import (
    ImporterConfigError,
    ImportOptions,
    MappedRow,
    Tally,
    csv_records,
    refuse_unused_options,
    rfc3339,
)
from app.ingestion.importers.k8s_pods_fields import (
    OPENB,
    TIME_COLUMNS,
    Layout,
    Life,
    Pod,
    Skip,
    decimal_text,
    detect_layout,
    expected_layouts,
    lifecycle,
    read_pod,
    read_seconds,
)


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
            if isinstance(outcome, Skip):
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
            raise ImporterConfigError(f"k8s-pods: the file is empty; {expected_layouts()}")
        if isinstance(first[1], str):
            raise ImporterConfigError(f"k8s-pods: the header line is not readable ({first[1]})")
        header = [name.strip() for name in first[1]]
        header[0] = header[0].removeprefix("\ufeff")
        layout = detect_layout(header)
        for option, column in (("--team-from", self.options.team_from), ("--model-from", self.options.model_from)):
            if column is not None and column not in header:
                raise ImporterConfigError(f"{option} {column}: no such column; the file has {', '.join(header)}")
        return layout, header, _last_second(records, header)

    def _map(self, layout: Layout, header: list[str], fields: list[str] | str, clock: _Clock,
             counts: Counter[str]) -> dict[str, Any] | Skip:
        if isinstance(fields, str):
            return Skip("malformed row", fields)
        if len(fields) != len(header):
            return Skip("malformed row", f"{len(fields)} fields, the header has {len(header)}")
        row = {name: value.strip() for name, value in zip(header, fields, strict=True)}
        pod = read_pod(layout, row)
        if isinstance(pod, Skip):
            return pod
        life = lifecycle(pod.times, pod.phase, clock.last)
        if isinstance(life, Skip):
            return life
        team = self.options.team or row[self.options.team_from or ""]
        if not team:
            return Skip("no team", f"{self.options.team_from} is empty")
        _count(counts, pod, life, clock.last)
        return self._record(layout, row, pod, team, life, clock)

    def _record(self, layout: Layout, row: dict[str, str], pod: Pod, team: str, life: Life,
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
        # Pod lists name no region: `--region`, else a `region` (or `topology.kubernetes.io/region`) column.
        region = self.options.region or row.get("region") or row.get("topology.kubernetes.io/region") or None
        record.update({name: value for name, value in (("model_name", model), ("gpu_type", gpu_type),
                                                        ("region", region)) if value is not None})
        return record


def _clock(epoch: datetime, last: Decimal) -> _Clock:
    """The clock of a trace whose last time is `last` s; refuses (ImporterConfigError) a trace that would end in
    the future, or beyond what a datetime holds."""
    clock = _Clock(epoch, last)
    try:
        end = clock.instant(last)
    except OverflowError:
        raise ImporterConfigError(f"k8s-pods: the trace's last time, {decimal_text(last)} s, is too far after "
                                  "--epoch") from None
    if end > datetime.now(UTC):
        raise ImporterConfigError(
            f"--epoch {rfc3339(epoch)}: the trace runs {decimal_text(last)} s after it, to {rfc3339(end)}, which is in "
            f"the future; give an epoch at least {decimal_text(last)} s before now")
    return clock


def _count(counts: Counter[str], pod: Pod, life: Life, last: Decimal) -> None:
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
               f"last instant is {decimal_text(clock.last)} s, {rfc3339(clock.instant(clock.last))}: pods still alive "
               "then are running, observed at that instant")


def _end_notes(tally: Tally, counts: Counter[str], clock: _Clock) -> None:
    tally.note(f"{counts['deleted while running']} pods were deleted after they started with no final phase "
               "(a Running, Pending or Unknown snapshot, or no phase): reported cancelled, ended at deletion_time")
    if counts["never ran (cancelled)"] or counts["never ran (queued)"]:
        tally.note(f"{counts['never ran (cancelled)']} pods were deleted before they were scheduled: cancelled, "
                   f"never started; {counts['never ran (queued)']} were never scheduled and not deleted: queued")
    tally.note(f"{counts['running']} pods have no deletion time: running, observed at {decimal_text(clock.last)} s")
    if counts["right-censored"]:
        tally.note(f"{counts['right-censored']} of the pods reported cancelled were deleted at the trace's last "
                   "instant: they may have been still running when the trace was cut")
    if counts["left-censored"]:
        tally.note(f"{counts['left-censored']} pods existed before the trace start (no creation or scheduled time, "
                   "but a deletion time): started at the epoch (label left_censored)")
    if counts["several models"]:
        tally.note(f"{counts['several models']} pods allowed several GPU models (gpu_spec): gpu_type is the first "
                   "listed; the whole list is in label gpu_spec")


def _last_second(records: Iterator[tuple[int, list[str] | str]], header: list[str]) -> Decimal:
    """The largest readable time of the remaining records (0 when none). Malformed rows and unreadable cells
    are passed over here: the second pass skips and reports them."""
    columns = [header.index(name) for name in TIME_COLUMNS]
    last = Decimal(0)
    for _line, fields in records:
        if isinstance(fields, str) or len(fields) != len(header):
            continue
        for index in columns:
            seconds = read_seconds(fields[index])
            if isinstance(seconds, Decimal) and seconds > last:
                last = seconds
    return last


def _labels(layout: Layout, row: dict[str, str], life: Life) -> dict[str, str]:
    labels = {name: row[name] for name in layout.label_columns if row.get(name)}
    if life.left_censored:
        labels["left_censored"] = "true"
    return labels


IMPORTERS = {"k8s-pods": PodListImporter}
