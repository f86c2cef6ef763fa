"""Shapes of `GET /energy/coefficients`: the figures energy and carbon estimates are made from."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from app.core.money import GpuHours, KgCo2e, Kwh, Usd, gpu_hours
from app.db.models import EnergySource
from app.energy.coefficients import Coefficients, GpuPower, GridIntensity, ProviderPue, Source


def _three_places(thousandths: int) -> str:
    """Integer thousandths as a decimal string with 3 places (`76500` → `"76.500"`)."""
    return f"{Decimal(thousandths).scaleb(-3):.3f}"


Thousandths = Annotated[
    int,
    PlainSerializer(_three_places, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^\d+\.\d{3}$", "description": "decimal, 3 places",
                    "examples": ["407.000"]}),
]

_CCF = "https://www.cloudcarbonfootprint.org/docs/methodology"
_UPTIME = "https://intelligence.uptimeinstitute.com/resource/uptime-institute-global-data-center-survey-2023"
_EMBER = "https://ember-climate.org/insights/research/global-electricity-review-2024/"


class SourceFields(BaseModel):
    source: str = Field(description="Where the figure comes from: a public URL.", examples=[_CCF])
    source_date: date | None = Field(description="The date the source was read.", examples=["2026-12-06"])
    note: str | None = Field(default=None, description="Which table of the source, or how the figure was derived.")
    origin: Literal["file", "admin"] = Field(
        default="file", description="`file`: the shipped coefficients file; `admin`: an admin's override (its "
                                    "`source` is `admin:<email>`, `source_date` the day it was set).")


class GpuPowerRead(SourceFields):
    """Watts drawn by one GPU of `gpu_type`, idle and at full load (a MIG slice without its own figures takes g/7
    of its parent's)."""

    gpu_type: str = Field(examples=["A100-80GB"])
    idle_watts: Thousandths
    full_watts: Thousandths


class PueRead(SourceFields):
    """The power usage effectiveness of `provider`'s data centres: facility energy / IT energy."""

    provider: str = Field(examples=["aws"])
    pue: Thousandths


class GridRead(SourceFields):
    """The location-based grid intensity of `region` (case-folded, as jobs store it) of `provider`."""

    provider: str = Field(examples=["aws"])
    region: str = Field(examples=["us-east-1"])
    g_co2e_per_kwh: Thousandths = Field(description="Grams CO2e per kWh, 3 places.")


class DefaultsRead(BaseModel):
    """What an estimate uses when the job's GPU type, provider or region has no figure (named in the job's
    `defaults_used`), and the utilisation assumed when a job reports none."""

    gpu: GpuPowerRead
    pue: PueRead
    grid: GridRead
    gpu_utilization: str = Field(examples=["0.5000"], description="Assumed mean utilisation, 4 places.")


class CoefficientsRead(BaseModel):
    """Every coefficient in force, ordered by name, with its source."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "gpus": [{"gpu_type": "A100-80GB", "idle_watts": "46.000", "full_watts": "407.000", "source": _CCF,
                  "source_date": "2026-12-06", "note": "CCF Appendix III"}],
        "pue": [{"provider": "aws", "pue": "1.135", "source": _CCF, "source_date": "2026-12-06", "note": None}],
        "grid": [{"provider": "aws", "region": "us-east-1", "g_co2e_per_kwh": "379.069", "source": _CCF,
                  "source_date": "2026-12-06", "note": "EPA eGRID2020 via CCF Appendix V"}],
        "defaults": {
            "gpu": {"gpu_type": "*", "idle_watts": "46.000", "full_watts": "407.000", "source": _CCF,
                    "source_date": "2026-12-06", "note": "an unknown GPU type is estimated as an A100"},
            "pue": {"provider": "*", "pue": "1.580", "source": _UPTIME, "source_date": "2026-12-06", "note": None},
            "grid": {"provider": "*", "region": "*", "g_co2e_per_kwh": "480.000", "source": _EMBER,
                     "source_date": "2026-12-06", "note": None},
            "gpu_utilization": "0.5000"}}]})

    gpus: list[GpuPowerRead]
    pue: list[PueRead]
    grid: list[GridRead]
    defaults: DefaultsRead


def _origin(origin: Source) -> dict[str, object]:
    return {"source": origin.source, "source_date": origin.source_date, "note": origin.note,
            "origin": "admin" if origin.source.startswith("admin:") else "file"}


def gpu_read(power: GpuPower) -> GpuPowerRead:
    return GpuPowerRead(gpu_type=power.gpu_type, idle_watts=power.idle_mw, full_watts=power.full_mw,
                        **_origin(power.origin))


def pue_read(pue: ProviderPue) -> PueRead:
    return PueRead(provider=pue.provider, pue=pue.pue_milli, **_origin(pue.origin))


def grid_read(grid: GridIntensity) -> GridRead:
    return GridRead(provider=grid.provider, region=grid.region, g_co2e_per_kwh=grid.mg_per_kwh,
                    **_origin(grid.origin))


def coefficients_read(coefficients: Coefficients, unknown_utilization_bp: int) -> CoefficientsRead:
    """The API's view of `coefficients`."""
    c = coefficients
    return CoefficientsRead(
        gpus=[gpu_read(c.gpus[k]) for k in sorted(c.gpus)], pue=[pue_read(c.pues[k]) for k in sorted(c.pues)],
        grid=[grid_read(c.grids[k]) for k in sorted(c.grids)],
        defaults=DefaultsRead(gpu=gpu_read(c.default_gpu), pue=pue_read(c.default_pue),
                              grid=grid_read(c.default_grid),
                              gpu_utilization=f"{Decimal(unknown_utilization_bp).scaleb(-4):.4f}"))


class JobEnergyRead(BaseModel):
    """A job's energy figures (docs/energy.md): energy, carbon, and the GPU time and cost it held idle."""

    kwh: Kwh = Field(description="Energy of the whole job, kWh: measured (`energy_kwh` of the record, as "
                                 "reported) or estimated (GPU-hours × watts at its utilisation × PUE).")
    co2e_kg: KgCo2e = Field(description="Carbon, kg CO2e: `kwh` × the grid intensity of the job's region.")
    source: EnergySource = Field(description="`measured` or `estimated`.")
    defaults_used: list[str] = Field(
        description="What the figures assumed for want of data: `gpu_utilization` (0.5), `gpu_type` (an unknown "
                    "GPU's watts), `pue` (an unknown or on-premises provider), `region` (the world-average grid "
                    "intensity). Empty: nothing assumed.", examples=[["region"]])
    idle_gpu_hours: GpuHours | None = Field(description="GPU-hours × (1 − utilisation); null when the job does "
                                                        "not report its utilisation.")
    idle_cost: Usd | None = Field(description="USD: the cost × (1 − utilisation); null when the utilisation or "
                                              "the cost is unknown.")

    @classmethod
    def of(cls, job: Any) -> JobEnergyRead | None:
        """From a job's stored figures (a `Job` or a row with its columns); None before they are computed."""
        if job.energy_source is None:
            return None
        return cls(kwh=Decimal(job.energy_used_mwh).scaleb(-6), co2e_kg=Decimal(job.co2e_mg).scaleb(-6),
                   source=job.energy_source, defaults_used=[d for d in (job.energy_defaults or "").split(",") if d],
                   idle_gpu_hours=None if job.idle_gpu_us is None else gpu_hours(job.idle_gpu_us),
                   idle_cost=None if job.idle_cost_micros is None else Decimal(job.idle_cost_micros).scaleb(-6))
