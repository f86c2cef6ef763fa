"""Energy, carbon and idle GPU figures of one job and of each of its UTC days: pure integer arithmetic, no
database, like `app.ingestion.costing` (whose days they follow).

Units: energy in milliwatt-hours (mWh; 1 kWh = 10^6 mWh), carbon in milligrams CO2e, idle GPU time in
GPU-microseconds, idle cost in micro-USD, utilisation in ten-thousandths (`bp`, 0..10000).

- energy, measured: the job's `energy_mwh` (what the scheduler measured; no PUE added) spread over its days in
  proportion to run time, like a billed cost (a zero-length run puts it on its start day);
- energy, estimated: GPU-hours × (idle + u × (full − idle)) watts × PUE, with u the job's utilisation or
  `UNKNOWN_UTILIZATION_BP` (0.5) when it has none; the job's exact total rounded half-even once to a mWh, then
  spread over the days by largest remainder;
- carbon: the job's energy × its region's grid intensity, rounded once, spread in proportion to each day's energy;
- idle GPU time: GPU time × (1 − u), only when the job reports its utilisation;
- idle cost: the job's cost × (1 − u), the same share, only when it reports its utilisation and has a cost.
Every total is rounded half-even once and spread by largest remainder, so a job's days sum to it exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from app.energy.coefficients import JobCoefficients
from app.ingestion.costing import US_PER_HOUR, DayShare, round_half_even, spread_over

FULL_BP = 10_000  # utilisation 1.0 in ten-thousandths
UNKNOWN_UTILIZATION_BP = 5_000  # the utilisation an estimate assumes when the job reports none
MWH_PER_KWH = 1_000_000
# mW × GPU-µs × PUE thousandths × bp → mWh: / (µs per hour × 1000 PUE × 10000 bp).
_ESTIMATE_DENOMINATOR = US_PER_HOUR * 1_000 * FULL_BP

EnergySource = Literal["measured", "estimated"]


@dataclass(frozen=True, slots=True)
class DayEnergy:
    """One snapshot day's figures. `*_measured_*` is the part from measured energy (all or nothing for one job);
    idle figures are 0 when the job's utilisation is unknown."""

    energy_mwh: int
    energy_measured_mwh: int
    co2e_mg: int
    co2e_measured_mg: int
    idle_gpu_us: int
    idle_cost_micros: int


@dataclass(frozen=True, slots=True)
class JobEnergy:
    """A job's figures: totals, where the energy came from, which figures used a default, and its days (one per
    `DayShare` it was given). `idle_gpu_us`/`idle_cost_micros` are None when the utilisation (or the cost) is
    unknown. `defaults` names what the estimate assumed: `gpu_utilization` (0.5), `gpu_type` (watts of the
    default GPU), `pue` (the default PUE), `region` (the world-average intensity)."""

    energy_mwh: int
    co2e_mg: int
    source: EnergySource
    idle_gpu_us: int | None
    idle_cost_micros: int | None
    defaults: tuple[str, ...]
    days: tuple[DayEnergy, ...]


def _spread_by(total: int, weights: Sequence[int]) -> list[int]:
    """`total` over `weights` (≥ 0) by largest remainder; all on the first when the weights are all 0."""
    whole = sum(weights)
    if not weights:
        return []
    if whole == 0:
        return [total] + [0] * (len(weights) - 1)
    return spread_over(total, [total * w for w in weights], whole)


def job_energy(days: Sequence[DayShare], *, cost_micros: int | None, measured_mwh: int | None,
               util_bp: int | None, coefficients: JobCoefficients) -> JobEnergy:
    """The figures of a job costed into `days` (`app.ingestion.costing.cost_job`), whose cost is `cost_micros`
    (None when unpriced), with the measured energy `measured_mwh` (None: estimate it) and utilisation `util_bp`
    (None: unknown), under `coefficients` (`Coefficients.for_job`)."""
    c = coefficients
    defaults: list[str] = []
    if measured_mwh is not None:
        source: EnergySource = "measured"
        energy = measured_mwh
        energy_days = _spread_by(measured_mwh, [d.run_ms for d in days])
    else:
        source = "estimated"
        u = UNKNOWN_UTILIZATION_BP if util_bp is None else util_bp
        power = c.idle_mw * FULL_BP + u * (c.full_mw - c.idle_mw)
        exact = [d.gpu_us * power * c.pue_milli for d in days]
        denominator = _ESTIMATE_DENOMINATOR * c.watts_divisor
        energy = round_half_even(sum(exact), denominator)
        energy_days = spread_over(energy, exact, denominator) if days else []
        if sum(d.gpu_us for d in days):
            defaults += ["gpu_utilization"] * (util_bp is None) + ["gpu_type"] * c.gpu_default
            defaults += ["pue"] * c.pue_default
    co2e = round_half_even(energy * c.mg_per_kwh, MWH_PER_KWH)
    co2e_days = _spread_by(co2e, energy_days)
    if energy and c.region_default:
        defaults.append("region")
    idle_us = idle_cost = None
    idle_us_days = idle_cost_days = [0] * len(days)
    if util_bp is not None:
        idle_share = FULL_BP - util_bp
        idle_us = round_half_even(sum(d.gpu_us for d in days) * idle_share, FULL_BP)
        idle_us_days = _spread_by(idle_us, [d.gpu_us for d in days])
        if cost_micros is not None:
            idle_cost = round_half_even(cost_micros * idle_share, FULL_BP)
            idle_cost_days = _spread_by(idle_cost, [d.cost_micros or 0 for d in days])
    measured = source == "measured"
    return JobEnergy(
        energy_mwh=energy, co2e_mg=co2e, source=source, idle_gpu_us=idle_us, idle_cost_micros=idle_cost,
        defaults=tuple(defaults),
        days=tuple(DayEnergy(e, e * measured, g, g * measured, i, k)
                   for e, g, i, k in zip(energy_days, co2e_days, idle_us_days, idle_cost_days, strict=True)))
