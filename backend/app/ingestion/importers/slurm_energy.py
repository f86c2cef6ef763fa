"""Energy and GPU utilisation from a sacct export, as `--format slurm` reads them (docs/importers/slurm.md).

Energy (`energy_kwh`): `ConsumedEnergyRaw` (whole joules), else `ConsumedEnergy` (joules with sacct's unit prefix:
`K`, `M`, `G`, `T`, `P`, powers of 1,000, the value rounded by sacct to two places), of the job's own row. Joules
become kWh as J / 3,600,000, rounded half-even to 6 places (one milliwatt-hour, what jobcost keeps). sacct prints
0 for a job when the cluster has no energy plugin (no `energy` TRES), and a sentinel near 2^64 for "no value": both
are "not measured" (null), never a measured zero.

Utilisation (`gpu_utilization`): Slurm's GPU plugin reports `gres/gpuutil` per task as the sum of the busy percent of
the task's GPUs (4 GPUs at 99 % give 396). A row's share of its GPUs' time with work on them is therefore
`TRESUsageInTot` `gres/gpuutil` (else `TRESUsageInAve` × `NTasks`, `NTasks` 1 when absent) / (100 × the row's GPUs),
kept between 0 and 1, rounded half-even to 4 places. The job's utilisation is the largest such share of its rows
(the job row and its steps, not `extern`, which runs no work of the job): its busiest step. 0 is "not reported"
(GPUs the plugin cannot read report zeros), so it is null, as is a sentinel near 2^64.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from app.ingestion.importers.slurm_fields import gpus_from_tres, parse_tres

JOULES_PER_KWH = 3_600_000
KWH_PLACES = Decimal("0.000001")
SHARE_PLACES = Decimal("0.0001")
# sacct prints NO_VAL64 / INFINITE64 (2^64 - 2, 2^64 - 1) for a value it does not have; nothing real is near.
_UNSET = 2 ** 63
_PREFIX = {"": 0, "K": 1, "M": 2, "G": 3, "T": 4, "P": 5}
_ENERGY = re.compile(r"(\d+(?:\.\d+)?)([KMGTP]?)", re.ASCII | re.IGNORECASE)


def joules_to_kwh(joules: Decimal) -> Decimal:
    """kWh from joules (J / 3,600,000), rounded half-even to 6 places."""
    return (joules / JOULES_PER_KWH).quantize(KWH_PLACES, rounding=ROUND_HALF_EVEN)


def parse_energy(text: str) -> Decimal | None:
    """Joules of a `ConsumedEnergy` or `ConsumedEnergyRaw` cell (`123456`, `1.23M` = 1,230,000), None when it
    carries no measurement (blank, 0, a sentinel near 2^64). Raises ValueError for anything else."""
    cleaned = text.strip()
    if not cleaned:
        return None
    match = _ENERGY.fullmatch(cleaned)
    if match is None:
        raise ValueError(f"{text!r} is not an energy in joules (e.g. 123456 or 1.23M)")
    joules = Decimal(match[1]) * Decimal(1000) ** _PREFIX[match[2].upper()]
    if joules == 0 or joules >= _UNSET:
        return None
    return joules


def energy_kwh(cells: dict[str, str]) -> tuple[Decimal | None, str | None]:
    """(kWh of the job row, the column it came from), or (None, None) when neither column measured anything.
    Raises ValueError, naming the column, for a cell that is no energy."""
    for column in ("ConsumedEnergyRaw", "ConsumedEnergy"):
        text = cells.get(column.casefold(), "")
        try:
            joules = parse_energy(text)
        except ValueError as exc:
            raise ValueError(f"{column}: {exc}") from None
        if joules is not None:
            return joules_to_kwh(joules), column
    return None, None


def _gpuutil(text: str, column: str) -> Decimal | None:
    try:
        value = parse_tres(text).get("gres/gpuutil")
    except ValueError as exc:
        raise ValueError(f"{column}: {exc}") from None
    if value is None:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{column}: gres/gpuutil={value!r} is not a number") from None
    if not number.is_finite() or number <= 0 or number >= _UNSET:
        return None
    return number


def row_utilization(cells: dict[str, str], job_gpus: int) -> Decimal | None:
    """The share (0..1, 4 places) of its GPUs' time one row (job or step) kept busy, None when it reports none.
    The row's GPUs are its own AllocTRES's, else the job's `job_gpus`. Raises ValueError for a cell that cannot
    be read."""
    total = _gpuutil(cells.get("tresusageintot", ""), "TRESUsageInTot")
    if total is None:
        average = _gpuutil(cells.get("tresusageinave", ""), "TRESUsageInAve")
        if average is None:
            return None
        tasks_text = cells.get("ntasks", "").strip()
        tasks = int(tasks_text) if tasks_text.isascii() and tasks_text.isdigit() and int(tasks_text) > 0 else 1
        total = average * tasks
    try:
        gpus = gpus_from_tres(parse_tres(cells.get("alloctres", ""))).count or job_gpus
    except ValueError:
        gpus = job_gpus
    if gpus <= 0:
        return None
    share = min(total / (100 * gpus), Decimal(1))
    return share.quantize(SHARE_PLACES, rounding=ROUND_HALF_EVEN)
