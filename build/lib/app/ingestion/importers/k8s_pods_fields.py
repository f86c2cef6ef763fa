"""One row of a pod listing read for `--format k8s-pods`: the two layouts (openb, DLRM) told apart by their
header, then a pod's id, phase, times (seconds after the epoch, to the millisecond), GPUs, and its lifecycle
(status and run). Each reader returns its value or a `Skip` saying why the row is not a job; `k8s_pods.py` turns
pods into job records against the user's `--epoch`. docs/importers/k8s-pods.md gives the mapping.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from app.ingestion.field_rules import MAX_RUN
from app.ingestion.importers.base import ImporterConfigError

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
class Skip:
    """Why a row is not a job: a short stable `reason` for the tally, and the `detail` shown with it."""

    reason: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Times:
    """A pod's times in seconds after the epoch, cut to the millisecond; None where the cell is empty."""

    created: Decimal | None
    scheduled: Decimal | None
    deleted: Decimal | None


@dataclass(frozen=True, slots=True)
class Life:
    """What a pod's times and phase say: its status and run, in seconds after the epoch."""

    status: str
    submitted: Decimal | None
    started: Decimal | None
    ended: Decimal | None
    left_censored: bool


@dataclass(frozen=True, slots=True)
class Gpus:
    """A pod's GPUs: `count` as decimal text (thousandths at most), the model (None without GPUs or a model),
    and whether its request allowed several models."""

    count: str
    gpu_type: str | None
    several_models: bool


@dataclass(frozen=True, slots=True)
class Pod:
    """One row read: its id, phase (openb; None for DLRM or an empty cell), times and GPUs."""

    pod_id: str
    phase: str | None
    times: Times
    gpus: Gpus


def read_pod(layout: Layout, row: dict[str, str]) -> Pod | Skip:
    """The pod of one row (column → stripped cell): id, phase (openb), times and GPUs, or the Skip of the first
    cell that cannot be read."""
    pod_id = row[layout.id_column]
    if not pod_id:
        return Skip("no pod id", f"{layout.id_column} is empty")
    phase = _phase(row) if layout is OPENB else None
    if isinstance(phase, Skip):
        return phase
    times = _times(row)
    if isinstance(times, Skip):
        return times
    gpus = _openb_gpus(row) if layout is OPENB else _dlrm_gpus(row)
    if isinstance(gpus, Skip):
        return gpus
    return Pod(pod_id, phase, times, gpus)


def expected_layouts() -> str:
    """The headers k8s-pods knows, for error messages."""
    return "expected a pod list with the header of " + "; or of ".join(
        f"{layout.name} ({','.join(layout.header)})" for layout in LAYOUTS)


def detect_layout(header: list[str]) -> Layout:
    """The first layout whose required columns the header has. Raises ImporterConfigError naming both."""
    for layout in LAYOUTS:
        if set(layout.required) <= set(header):
            return layout
    raise ImporterConfigError(f"k8s-pods: unknown header ({','.join(header)[:300]}); {expected_layouts()}")


def read_seconds(text: str) -> Decimal | None | Skip:
    """Seconds ≥ 0 read exactly from the decimal text ("475.00000000000006") and cut to the millisecond;
    None for an empty cell."""
    text = text.strip()
    if not text:
        return None
    if not _PLAIN_NUMBER.fullmatch(text) or len(text) > 64:
        return Skip("bad time", f"{text[:40]!r} is not a number of seconds ≥ 0")
    return Decimal(text).quantize(MILLISECOND, rounding=ROUND_DOWN)


def _times(row: dict[str, str]) -> Times | Skip:
    values = {}
    for column in TIME_COLUMNS:
        value = read_seconds(row[column])
        if isinstance(value, Skip):
            return Skip(value.reason, f"{column} {value.detail}")
        values[column] = value
    times = Times(values["creation_time"], values["scheduled_time"], values["deletion_time"])
    present = [(name, v) for name, v in zip(TIME_COLUMNS, (times.created, times.scheduled, times.deleted),
                                             strict=True) if v is not None]
    for (first, early), (second, late) in zip(present, present[1:], strict=False):
        if late < early:
            return Skip("times out of order", f"{second} {decimal_text(late)} is before {first} {decimal_text(early)}")
    return times


def _phase(row: dict[str, str]) -> str | None | Skip:
    phase = row["pod_phase"].casefold() or None
    if phase is not None and phase not in _PHASES:
        return Skip("unknown pod_phase", f"pod_phase {row['pod_phase'][:40]!r}")
    return phase


def lifecycle(times: Times, phase: str | None, last: Decimal) -> Life | Skip:
    """Status and run of a pod. Started = scheduled (or the trace start for a pod that existed before it);
    with a deletion time it has ended: failed/succeeded as its phase says, otherwise cancelled; without one it
    is running if it started, else queued."""
    if times.created is None and times.scheduled is None and times.deleted is None:
        return Skip("no time at all", "no creation, scheduled or deletion time")
    left_censored = times.created is None and times.scheduled is None
    started = Decimal(0) if left_censored else times.scheduled
    end = times.deleted if times.deleted is not None else last
    if started is not None and end - started > MAX_RUN_SECONDS:
        return Skip("run over 366 days", f"runs from {decimal_text(started)} s to {decimal_text(end)} s")
    if times.deleted is not None:
        status = _FINISHED_PHASES.get(phase or "", "cancelled") if started is not None else "cancelled"
        return Life(status, times.created, started, times.deleted, left_censored)
    if phase in _FINISHED_PHASES:
        return Skip("finished but no deletion time", f"pod_phase {phase} with no deletion_time: its end is unknown")
    return Life("running" if started is not None else "queued", times.created, started, None, left_censored)


def decimal_text(number: Decimal) -> str:
    """A decimal without trailing zeros or exponent (12902960.000 → "12902960", 0.460 → "0.46")."""
    return f"{number.normalize():f}"


def _milli_text(milli: int) -> str:
    """Thousandths of a GPU as a decimal string with at most 3 places (460 → "0.46", 8000 → "8")."""
    return decimal_text(Decimal(milli).scaleb(-3))


def _openb_gpus(row: dict[str, str]) -> Gpus | Skip:
    """num_gpu × gpu_milli / 1000 GPUs; the first model of gpu_spec (pipe-separated) when it has GPUs."""
    num, share = row["num_gpu"], row["gpu_milli"] or "0"
    whole = all(text.isascii() and text.isdigit() and len(text) <= 9 for text in (num, share))
    if not whole or int(share) > 1000:
        return Skip("bad GPU request", f"num_gpu {num[:20]!r}, gpu_milli {share[:20]!r}: want whole numbers, "
                                        "gpu_milli at most 1000")
    milli = int(num) * int(share)
    models = [model.strip() for model in row["gpu_spec"].split("|") if model.strip()]
    gpu_type = models[0] if models and milli else None
    return Gpus(_milli_text(milli), gpu_type, len(set(models)) > 1)


def _dlrm_gpus(row: dict[str, str]) -> Gpus | Skip:
    text = row["gpu_request"] or "0"
    count = Decimal(text) if _PLAIN_NUMBER.fullmatch(text) and len(text) <= 64 else None
    if count is None or count != count.quantize(MILLISECOND):
        return Skip("bad GPU request", f"gpu_request {text[:20]!r}: want a number ≥ 0 with at most 3 places")
    return Gpus(_milli_text(int(count * 1000)), None, False)
