"""The energy and carbon coefficients shipped in `app/data/energy_coefficients.json`, and the lookup that gives a
job the coefficients its estimate uses.

The file holds, each figure with its public source and the date it was read:
- per GPU type (canonical names, as the price catalog spells them): idle and full-load watts per GPU — Cloud Carbon
  Footprint's published figures (methodology, Appendix III), else the vendor's TDP for full load and 11.5 % of it
  for idle (the ratio of CCF's own figures);
- per provider: the PUE (power usage effectiveness) of its data centres, from CCF;
- per (provider, region): the location-based grid intensity in gCO2e/kWh, from CCF's Appendix V;
- `defaults` for an unknown GPU type (an A100), an unknown or on-premises provider (the Uptime Institute's global
  average PUE) and an unknown region (the world average intensity, Ember). A figure taken from a default is named
  in the job's `defaults_used`: never a silent zero.

Figures are stored as integers: milliwatts, PUE in thousandths, milligrams CO2e per kWh (the file's decimals have at
most 3 places, so the conversion is exact).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources
from typing import Any

from app.pricing.scopes import MIG_SLICES_PER_GPU, mig_compute_slices, mig_parent

COEFFICIENTS_RESOURCE = "data/energy_coefficients.json"
# The largest figures accepted: a GPU over 10 kW, a PUE over 10 or an intensity over 10 kg/kWh is a typo.
MAX_WATTS = Decimal(10_000)
MAX_PUE = Decimal(10)
MAX_G_PER_KWH = Decimal(10_000)


class CoefficientsError(ValueError):
    """The coefficients file is malformed: which entry and why."""


def thousandths(value: Any, what: str, *, low: Decimal, high: Decimal) -> int:
    """A decimal string with at most 3 places in `[low, high]` as integer thousandths (`"76.5"` → 76500).
    Raises ValueError naming `what`."""
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a decimal string")
    try:
        number = Decimal(value.strip())
    except InvalidOperation as exc:
        raise ValueError(f"{what} must be a decimal string, not {value!r}") from exc
    if not number.is_finite() or number < low or number > high:
        raise ValueError(f"{what} must be between {low} and {high}")
    scaled = number.scaleb(3)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{what} has more than 3 decimal places")
    return int(scaled)


@dataclass(frozen=True, slots=True)
class Source:
    """Where a figure comes from: a URL (or `admin:<email>` for an override), the date it was read, a note."""

    source: str
    source_date: date | None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class GpuPower:
    """Per GPU of `gpu_type`: milliwatts drawn idle and at full load."""

    gpu_type: str
    idle_mw: int
    full_mw: int
    origin: Source


@dataclass(frozen=True, slots=True)
class ProviderPue:
    """`provider`'s PUE in thousandths (1.135 → 1135)."""

    provider: str
    pue_milli: int
    origin: Source


@dataclass(frozen=True, slots=True)
class GridIntensity:
    """The grid intensity of `region` (case-folded) of `provider`, in milligrams CO2e per kWh."""

    provider: str
    region: str
    mg_per_kwh: int
    origin: Source


@dataclass(frozen=True, slots=True)
class JobCoefficients:
    """What one job's estimate uses. Watts per GPU are `idle_mw / watts_divisor` and `full_mw / watts_divisor`
    (`watts_divisor` 7 for a MIG slice, whose `idle_mw`/`full_mw` are g × its parent's: the fraction is carried
    to the job's total and rounded once there). `defaults` names the figures taken from a default."""

    idle_mw: int
    full_mw: int
    pue_milli: int
    mg_per_kwh: int
    watts_divisor: int = 1
    gpu_default: bool = False
    pue_default: bool = False
    region_default: bool = False


@dataclass(frozen=True, slots=True)
class Coefficients:
    """Every figure, keyed for lookup, and the defaults."""

    gpus: dict[str, GpuPower]
    pues: dict[str, ProviderPue]
    grids: dict[tuple[str, str], GridIntensity]
    default_gpu: GpuPower
    default_pue: ProviderPue
    default_grid: GridIntensity

    def gpu(self, gpu_type: str | None) -> tuple[GpuPower, int, int, bool]:
        """`(power, multiplier, divisor, default)` for `gpu_type`: its own figures; a MIG slice with none of its
        own takes g/7 of its parent's (multiplier g, divisor 7); else the default."""
        if gpu_type is not None:
            own = self.gpus.get(gpu_type)
            if own is not None:
                return own, 1, 1, False
            parent, slices = mig_parent(gpu_type), mig_compute_slices(gpu_type)
            if parent is not None and slices is not None and parent in self.gpus:
                return self.gpus[parent], slices, MIG_SLICES_PER_GPU, False
        return self.default_gpu, 1, 1, True

    def for_job(self, provider: str | None, gpu_type: str | None, region: str | None) -> JobCoefficients:
        """The coefficients of a job stored with these canonical names (`region` case-folded)."""
        power, multiplier, divisor, gpu_default = self.gpu(gpu_type)
        pue = self.pues.get(provider) if provider is not None else None
        grid = self.grids.get((provider, region)) if provider is not None and region is not None else None
        return JobCoefficients(
            idle_mw=power.idle_mw * multiplier, full_mw=power.full_mw * multiplier,
            pue_milli=(pue or self.default_pue).pue_milli, mg_per_kwh=(grid or self.default_grid).mg_per_kwh,
            watts_divisor=divisor, gpu_default=gpu_default, pue_default=pue is None, region_default=grid is None)


def _source(entry: dict[str, Any]) -> Source:
    raw_date = entry.get("source_date")
    return Source(source=str(entry["source"]), source_date=None if raw_date is None else date.fromisoformat(raw_date),
                  note=entry.get("note"))


def gpu_power(gpu_type: str, idle: Any, full: Any, origin: Source) -> GpuPower:
    """A GPU's figures from decimal watts, checked: both in [0, MAX_WATTS], idle ≤ full. Raises ValueError."""
    idle_mw = thousandths(idle, "idle_watts", low=Decimal(0), high=MAX_WATTS)
    full_mw = thousandths(full, "full_watts", low=Decimal(0), high=MAX_WATTS)
    if idle_mw > full_mw:
        raise ValueError("idle_watts must not exceed full_watts")
    return GpuPower(gpu_type, idle_mw, full_mw, origin)


def provider_pue(provider: str, pue: Any, origin: Source) -> ProviderPue:
    """A provider's PUE from a decimal string in [1, MAX_PUE]. Raises ValueError."""
    return ProviderPue(provider, thousandths(pue, "pue", low=Decimal(1), high=MAX_PUE), origin)


def grid_intensity(provider: str, region: str, grams: Any, origin: Source) -> GridIntensity:
    """A region's intensity from decimal gCO2e/kWh in [0, MAX_G_PER_KWH]. Raises ValueError."""
    mg = thousandths(grams, "g_co2e_per_kwh", low=Decimal(0), high=MAX_G_PER_KWH)
    return GridIntensity(provider, region.strip().casefold(), mg, origin)


def parse_coefficients(document: dict[str, Any]) -> Coefficients:
    """Validate a coefficients document (the JSON file's shape). Raises CoefficientsError naming the entry."""
    gpus: dict[str, GpuPower] = {}
    pues: dict[str, ProviderPue] = {}
    grids: dict[tuple[str, str], GridIntensity] = {}
    where = "defaults"
    try:
        defaults = document["defaults"]
        default_gpu = gpu_power("*", defaults["gpu"]["idle_watts"], defaults["gpu"]["full_watts"],
                                _source(defaults["gpu"]))
        default_pue = provider_pue("*", defaults["pue"]["pue"], _source(defaults["pue"]))
        default_grid = grid_intensity("*", "*", defaults["grid"]["g_co2e_per_kwh"], _source(defaults["grid"]))
        for i, entry in enumerate(document.get("gpus", [])):
            where = f"gpus[{i}]"
            power = gpu_power(str(entry["gpu_type"]).strip(), entry["idle_watts"], entry["full_watts"],
                              _source(entry))
            if power.gpu_type in gpus:
                raise ValueError(f"{power.gpu_type} listed twice")
            gpus[power.gpu_type] = power
        for i, entry in enumerate(document.get("pue", [])):
            where = f"pue[{i}]"
            pue = provider_pue(str(entry["provider"]).strip(), entry["pue"], _source(entry))
            if pue.provider in pues:
                raise ValueError(f"{pue.provider} listed twice")
            pues[pue.provider] = pue
        for i, entry in enumerate(document.get("grid", [])):
            where = f"grid[{i}]"
            grid = grid_intensity(str(entry["provider"]).strip(), str(entry["region"]), entry["g_co2e_per_kwh"],
                                  _source(entry))
            if (grid.provider, grid.region) in grids:
                raise ValueError(f"{grid.provider}/{grid.region} listed twice")
            grids[(grid.provider, grid.region)] = grid
    except (KeyError, TypeError, ValueError) as exc:
        raise CoefficientsError(f"{where}: {exc}") from exc
    return Coefficients(gpus, pues, grids, default_gpu, default_pue, default_grid)


@cache
def default_coefficients() -> Coefficients:
    """The coefficients bundled with jobcost (read once per process)."""
    text = resources.files("app").joinpath(COEFFICIENTS_RESOURCE).read_text(encoding="utf-8")
    return parse_coefficients(json.loads(text))


def with_overrides(base: Coefficients, *, gpus: Iterable[GpuPower] = (), pues: Iterable[ProviderPue] = (),
                   grids: Iterable[GridIntensity] = ()) -> Coefficients:
    """`base` with the given figures laid over it (an admin's overrides: each replaces the figure of its key, or
    adds one). Pure; `base` is left as it was."""
    return replace(base, gpus={**base.gpus, **{g.gpu_type: g for g in gpus}},
                   pues={**base.pues, **{p.provider: p for p in pues}},
                   grids={**base.grids, **{(g.provider, g.region): g for g in grids}})
