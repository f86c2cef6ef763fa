"""Shapes of `/admin/energy/coefficients…`: overrides in (checked like the shipped file: bounds, at most 3 decimal
places, decimal strings read exactly, idle ≤ full watts), overrides out, the change log, and what a change
recomputed."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, WithJsonSchema, field_validator
from pydantic_core import PydanticCustomError

from app.core.money import KgCo2e, Kwh
from app.energy.coefficients import MAX_G_PER_KWH, MAX_PUE, MAX_WATTS, thousandths
from app.energy.overrides import OverrideInput
from app.energy.schemas import Thousandths
from app.ingestion.field_rules import optional_text, required_text
from app.recost.schemas import OperationRead
from app.recost.service import RecostReport

NAME_MAX = 64
MAX_OVERRIDES = 1_000
Note = optional_text(1024)


def _decimal(what: str, low: Decimal, high: Decimal) -> Any:
    def check(value: Any) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise PydanticCustomError("decimal_string", "must be a decimal string such as \"1.135\" (a JSON "
                                                        "number with a fraction may not be read exactly)")
        try:
            return thousandths(value, what, low=low, high=high)
        except ValueError as exc:
            raise PydanticCustomError("decimal", str(exc)) from None

    return [BeforeValidator(check),
            WithJsonSchema({"type": "string", "pattern": r"^\d+(\.\d{1,3})?$",
                            "description": f"decimal string, at most 3 places, {low} to {high}"})]


Watts = Annotated[int, *_decimal("watts", Decimal(0), MAX_WATTS)]
Pue = Annotated[int, *_decimal("pue", Decimal(1), MAX_PUE)]
Grams = Annotated[int, *_decimal("g_co2e_per_kwh", Decimal(0), MAX_G_PER_KWH)]
Name = Annotated[str, required_text(NAME_MAX)]


class GpuOverrideIn(BaseModel):
    """Watts of one GPU of `gpu_type` (read through the aliases; a MIG slice without its own takes g/7)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["gpu"]
    gpu_type: Name
    idle_watts: Watts
    full_watts: Watts
    note: Note = None

    @field_validator("full_watts")
    @classmethod
    def _not_below_idle(cls, full: int, info: ValidationInfo) -> int:
        idle = info.data.get("idle_watts")
        if idle is not None and full < idle:
            raise PydanticCustomError("idle_above_full", "must not be below idle_watts")
        return full

    def to_input(self) -> OverrideInput:
        return OverrideInput("gpu", gpu_type=self.gpu_type, idle_mw=self.idle_watts, full_mw=self.full_watts,
                             note=self.note)


class PueOverrideIn(BaseModel):
    """The PUE of `provider`'s data centres (read through the aliases; `onprem` for your own)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["pue"]
    provider: Name
    pue: Pue
    note: Note = None

    def to_input(self) -> OverrideInput:
        return OverrideInput("pue", provider=self.provider, pue_milli=self.pue, note=self.note)


class GridOverrideIn(BaseModel):
    """The grid intensity of `region` (trimmed, case-folded) of `provider`, gCO2e/kWh."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["grid"]
    provider: Name
    region: Name
    g_co2e_per_kwh: Grams
    note: Note = None

    def to_input(self) -> OverrideInput:
        return OverrideInput("grid", provider=self.provider, region=self.region, mg_per_kwh=self.g_co2e_per_kwh,
                             note=self.note)


OverrideIn = Annotated[GpuOverrideIn | PueOverrideIn | GridOverrideIn, Field(discriminator="kind")]


class OverridesIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"overrides": [
        {"kind": "gpu", "gpu_type": "H100", "idle_watts": "60", "full_watts": "650", "note": "our DCGM readings"},
        {"kind": "pue", "provider": "onprem", "pue": "1.3", "note": "facility meter, 2026"},
        {"kind": "grid", "provider": "onprem", "region": "dc-east", "g_co2e_per_kwh": "210.5"}]}]})

    overrides: list[OverrideIn] = Field(min_length=1, max_length=MAX_OVERRIDES)


class OverrideRead(BaseModel):
    """An override in force: its key (parts its kind does not use are null), its figures (3-place decimal
    strings; those of other kinds null), note, who set it and when."""

    kind: Literal["gpu", "pue", "grid"]
    provider: str | None = Field(examples=["onprem"])
    gpu_type: str | None = Field(examples=[None])
    region: str | None = Field(examples=[None])
    idle_watts: Thousandths | None = None
    full_watts: Thousandths | None = None
    pue: Thousandths | None = None
    g_co2e_per_kwh: Thousandths | None = None
    note: str | None
    created_by: str = Field(examples=["admin@example.com"])
    updated_at: datetime

    @classmethod
    def of(cls, row: Any) -> OverrideRead:
        return cls(kind=str(row.kind), provider=row.provider or None, gpu_type=row.gpu_type or None,
                   region=row.region or None, idle_watts=row.idle_mw, full_watts=row.full_mw, pue=row.pue_milli,
                   g_co2e_per_kwh=row.mg_per_kwh, note=row.note, created_by=row.created_by,
                   updated_at=row.updated_at)


class EnergyRecomputeRead(BaseModel):
    """What recomputing the jobs a change touches did (all jobs of its GPU type and MIG slices, provider, or
    provider and region; billed ones too, whose cost never changes)."""

    jobs_read: int = Field(description="Jobs the change touches, read.")
    jobs_rewritten: int = Field(description="Jobs whose figures changed, written with their days and rollups.")
    energy_kwh_before: Kwh
    energy_kwh_after: Kwh
    co2e_kg_before: KgCo2e
    co2e_kg_after: KgCo2e

    @classmethod
    def of(cls, report: RecostReport) -> EnergyRecomputeRead:
        return cls(jobs_read=report.jobs_read, jobs_rewritten=report.jobs_rewritten,
                   energy_kwh_before=Decimal(report.energy_before_mwh).scaleb(-6),
                   energy_kwh_after=Decimal(report.energy_after_mwh).scaleb(-6),
                   co2e_kg_before=Decimal(report.co2e_before_mg).scaleb(-6),
                   co2e_kg_after=Decimal(report.co2e_after_mg).scaleb(-6))


class _Answer(BaseModel):
    recompute: EnergyRecomputeRead | None = Field(
        default=None, description="The recompute, when it ran in the request (null: nothing to recompute, or "
                                  "`operation` runs it).")
    operation: OperationRead | None = Field(
        default=None, description="Long work (more jobs than JOBCOST_RECOST_INLINE_MAX_JOBS): the operation to "
                                  "poll at `Location` (202).")


_ROW = {"kind": "pue", "provider": "onprem", "gpu_type": None, "region": None, "idle_watts": None,
        "full_watts": None, "pue": "1.300", "g_co2e_per_kwh": None, "note": "facility meter, 2026",
        "created_by": "admin@example.com", "updated_at": "2026-12-06T12:00:00Z"}
_RECOMPUTE = {"jobs_read": 120, "jobs_rewritten": 118, "energy_kwh_before": "5400.000000",
              "energy_kwh_after": "4443.037975", "co2e_kg_before": "2592.000000", "co2e_kg_after": "2132.658228"}


class OverridesSet(_Answer):
    """`set`: the overrides written (request order); `unchanged`: request indexes already in force as asked."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"set": [_ROW], "unchanged": [], "recompute": _RECOMPUTE, "operation": None}]})

    set: list[OverrideRead]
    unchanged: list[int]


class OverrideRemoved(_Answer):
    """The override removed: the file's figure (or the default) is in force again."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"removed": _ROW, "recompute": _RECOMPUTE, "operation": None}]})

    removed: OverrideRead


class EnergyChangeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    created_at: datetime
    actor: str = Field(examples=["admin@example.com"])
    action: Literal["set", "unset"]
    kind: Literal["gpu", "pue", "grid"]
    provider: str
    gpu_type: str
    region: str
    before: dict[str, Any] | None = Field(description="The figure in force before: the override (`origin` "
                                                      "`admin`), the file's (`file`), or null (a default).")
    after: dict[str, Any] | None = Field(description="The figure in force after, in the same shape.")


class EnergyChangeList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"changes": [{
        "id": "0b5c9f0e-8f3a-4d83-9a55-2f6f2b1e7c11", "created_at": "2026-12-06T12:00:00Z",
        "actor": "admin@example.com", "action": "set", "kind": "pue", "provider": "onprem", "gpu_type": "",
        "region": "", "before": None, "after": _ROW | {"origin": "admin"}}],
        "total": 1, "skip": 0, "limit": 50, "has_more": False}]})

    changes: list[EnergyChangeRead]
    total: int
    skip: int
    limit: int
    has_more: bool
