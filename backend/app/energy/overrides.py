"""The admins' overrides of the energy coefficients (`energy_coefficient_overrides`), laid over the shipped file,
and their change log (`energy_coefficient_changes`).

The coefficients in force are the file's with every override laid over it (`load_coefficients`: one small query,
made once per ingest request or recompute chunk, inside the writers' lock). An override's `Source` reads
`admin:<email>`, its date the day it was set, its note the admin's.

`OverrideService` sets and unsets overrides in the caller's transaction (it flushes, never commits), under the job
writers' lock, logging each change; its outcomes name the keys whose figures changed, so the caller can recompute
the jobs they touch (`app.energy.service.recompute_condition`) once it has committed. Setting the figures an
override already holds writes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import NotFoundError
from app.db.base import utcnow
from app.db.dialect import serialize_job_writers
from app.db.models import CoefficientKind, EnergyChange, EnergyOverride
from app.energy.coefficients import (
    Coefficients,
    GpuPower,
    GridIntensity,
    ProviderPue,
    Source,
    default_coefficients,
    with_overrides,
)
from app.pricing.catalog import default_catalog
from app.pricing.service import load_name_resolver_or_catalog

ADMIN_SOURCE = "admin:"
# A key: (kind, provider, gpu_type, region), "" where the kind does not use the part.
Key = tuple[CoefficientKind, str, str, str]


@dataclass(frozen=True, slots=True)
class OverrideInput:
    """One override as asked (names as sent; figures as integers: milliwatts, PUE thousandths, mg/kWh)."""

    kind: CoefficientKind
    provider: str = ""
    gpu_type: str = ""
    region: str = ""
    idle_mw: int | None = None
    full_mw: int | None = None
    pue_milli: int | None = None
    mg_per_kwh: int | None = None
    note: str | None = None


@dataclass(slots=True)
class SetOutcome:
    """`written` overrides (request order), `unchanged` request indexes (the same figures and note already in
    force), and the `keys` whose figures changed (to recompute)."""

    written: list[EnergyOverride] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    keys: list[Key] = field(default_factory=list)


class OverrideNotFoundError(NotFoundError):
    """404: no override of that key (the file's figure is already in force)."""

    def __init__(self, key: Key) -> None:
        super().__init__(f"No override of {describe(key)}: the shipped file's figure is in force")


def describe(key: Key) -> str:
    """`gpu H100`, `pue aws`, `grid aws/us-east-1`."""
    kind, provider, gpu_type, region = key
    name = {CoefficientKind.gpu: gpu_type, CoefficientKind.pue: provider}.get(kind, f"{provider}/{region}")
    return f"{kind.value} {name}"


def key_of(row: EnergyOverride | OverrideInput) -> Key:
    return (CoefficientKind(row.kind), row.provider, row.gpu_type, row.region)


def _figures(row: EnergyOverride | OverrideInput) -> tuple[int | None, ...]:
    return (row.idle_mw, row.full_mw, row.pue_milli, row.mg_per_kwh)


def _three(value: int | None) -> str | None:
    return None if value is None else f"{Decimal(value).scaleb(-3):.3f}"


def override_source(row: EnergyOverride) -> Source:
    return Source(source=f"{ADMIN_SOURCE}{row.created_by}", source_date=row.updated_at.date(), note=row.note)


def coefficients_with(rows: Sequence[EnergyOverride], base: Coefficients | None = None) -> Coefficients:
    """`base` (the shipped file's by default) with `rows` laid over it. Pure."""
    gpus, pues, grids = [], [], []
    for row in rows:
        origin = override_source(row)
        if row.kind == CoefficientKind.gpu:
            gpus.append(GpuPower(row.gpu_type, row.idle_mw or 0, row.full_mw or 0, origin))
        elif row.kind == CoefficientKind.pue:
            pues.append(ProviderPue(row.provider, row.pue_milli or 0, origin))
        else:
            grids.append(GridIntensity(row.provider, row.region, row.mg_per_kwh or 0, origin))
    return with_overrides(base or default_coefficients(), gpus=gpus, pues=pues, grids=grids)


async def list_overrides(session: AsyncSession) -> list[EnergyOverride]:
    """Every override, by kind and key."""
    return list((await session.execute(select(EnergyOverride).order_by(
        EnergyOverride.kind, EnergyOverride.provider, EnergyOverride.gpu_type, EnergyOverride.region))).scalars())


async def load_coefficients(session: AsyncSession) -> Coefficients:
    """The coefficients in force: the shipped file with the overrides laid over it (one query)."""
    return coefficients_with(await list_overrides(session))


def file_figure(key: Key) -> dict[str, Any] | None:
    """The shipped file's figure of `key` as the log keeps it (`origin` `file`), None when the file has none."""
    kind, provider, gpu_type, region = key
    c = default_coefficients()
    base: dict[str, Any] = {"kind": kind.value, "provider": provider or None, "gpu_type": gpu_type or None,
                            "region": region or None, "origin": "file"}
    if kind == CoefficientKind.gpu and gpu_type in c.gpus:
        g = c.gpus[gpu_type]
        return {**base, "idle_watts": _three(g.idle_mw), "full_watts": _three(g.full_mw), "source": g.origin.source}
    if kind == CoefficientKind.pue and provider in c.pues:
        return {**base, "pue": _three(c.pues[provider].pue_milli), "source": c.pues[provider].origin.source}
    if kind == CoefficientKind.grid and (provider, region) in c.grids:
        grid = c.grids[(provider, region)]
        return {**base, "g_co2e_per_kwh": _three(grid.mg_per_kwh), "source": grid.origin.source}
    return None


def override_json(row: EnergyOverride | OverrideInput, actor: str | None = None) -> dict[str, Any]:
    """An override as the log keeps it: decimal strings with 3 places, `origin` `admin`."""
    kind = CoefficientKind(row.kind)
    body: dict[str, Any] = {"kind": kind.value, "provider": row.provider or None, "gpu_type": row.gpu_type or None,
                            "region": row.region or None, "origin": "admin", "note": row.note,
                            "created_by": getattr(row, "created_by", actor)}
    if kind == CoefficientKind.gpu:
        body |= {"idle_watts": _three(row.idle_mw), "full_watts": _three(row.full_mw)}
    elif kind == CoefficientKind.pue:
        body["pue"] = _three(row.pue_milli)
    else:
        body["g_co2e_per_kwh"] = _three(row.mg_per_kwh)
    return body


@dataclass(frozen=True, slots=True)
class ChangePage:
    changes: list[EnergyChange]
    total: int
    has_more: bool


class OverrideService:
    """Sets, unsets and lists the overrides in `session` (see the module docstring)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def canonical(self, wanted: OverrideInput) -> OverrideInput:
        """`wanted` with its names read as jobs' are: GPU type and provider through the aliases, region trimmed
        and case-folded; key parts its kind does not use emptied."""
        names = await load_name_resolver_or_catalog(self.session, default_catalog())
        return self._canonical(wanted, names)

    @staticmethod
    def _canonical(wanted: OverrideInput, names: Any) -> OverrideInput:
        kind = wanted.kind
        gpu_type = names.canonical_gpu_type(wanted.gpu_type) if kind == CoefficientKind.gpu else ""
        provider = names.canonical_provider(wanted.provider) if kind != CoefficientKind.gpu else ""
        region = wanted.region.strip().casefold() if kind == CoefficientKind.grid else ""
        return OverrideInput(kind, provider, gpu_type, region, wanted.idle_mw, wanted.full_mw, wanted.pue_milli,
                             wanted.mg_per_kwh, wanted.note)

    async def _stored(self, key: Key) -> EnergyOverride | None:
        kind, provider, gpu_type, region = key
        return (await self.session.execute(select(EnergyOverride).where(
            EnergyOverride.kind == kind, EnergyOverride.provider == provider, EnergyOverride.gpu_type == gpu_type,
            EnergyOverride.region == region).with_for_update())).scalar_one_or_none()

    def _log(self, actor: str, action: str, key: Key, before: dict[str, Any] | None,
             after: dict[str, Any] | None, at: datetime) -> None:
        kind, provider, gpu_type, region = key
        self.session.add(EnergyChange(id=uuid.uuid4(), created_at=at, actor=actor, action=action, kind=kind,
                                      provider=provider, gpu_type=gpu_type, region=region, before=before,
                                      after=after))

    async def set(self, overrides: Sequence[OverrideInput], actor: str) -> SetOutcome:
        """Set each override (a later one of the same key in the request wins). One with the figures and note
        already in force is `unchanged` and writes nothing; one with the same figures and another note is
        written and logged, but names no key to recompute."""
        names = await load_name_resolver_or_catalog(self.session, default_catalog())
        await serialize_job_writers(self.session)
        outcome = SetOutcome()
        now = utcnow()
        last = {key_of(self._canonical(o, names)): i for i, o in enumerate(overrides)}
        for index, given in enumerate(overrides):
            wanted = self._canonical(given, names)
            key = key_of(wanted)
            if last[key] != index:
                continue
            row = await self._stored(key)
            if row is not None and _figures(row) == _figures(wanted) and row.note == wanted.note:
                outcome.unchanged.append(index)
                continue
            before = override_json(row) if row is not None else file_figure(key)
            if row is None or _figures(row) != _figures(wanted):
                outcome.keys.append(key)
            if row is None:
                row = EnergyOverride(id=uuid.uuid4(), kind=key[0], provider=key[1], gpu_type=key[2], region=key[3],
                                     created_by=actor, created_at=now, updated_at=now)
                self.session.add(row)
            row.idle_mw, row.full_mw, row.pue_milli, row.mg_per_kwh = _figures(wanted)
            row.note, row.created_by, row.updated_at = wanted.note, actor, now
            self._log(actor, "set", key, before, override_json(row), now)
            outcome.written.append(row)
        await self.session.flush()
        return outcome

    async def unset(self, wanted: OverrideInput, actor: str) -> EnergyOverride:
        """Remove the override of `wanted`'s key (the file's figure, or the default, is in force again); returns
        the row removed. Raises OverrideNotFoundError (404)."""
        key = key_of(await self.canonical(wanted))
        await serialize_job_writers(self.session)
        row = await self._stored(key)
        if row is None:
            raise OverrideNotFoundError(key)
        now = utcnow()
        self._log(actor, "unset", key, override_json(row), file_figure(key), now)
        await self.session.delete(row)
        await self.session.flush()
        return row

    async def changes(self, *, skip: int = 0, limit: int = 50) -> ChangePage:
        """The log newest first (ties by id), `limit` changes after the first `skip`."""
        total = (await self.session.execute(select(func.count()).select_from(EnergyChange))).scalar_one()
        rows = await self.session.execute(select(EnergyChange).order_by(
            EnergyChange.created_at.desc(), EnergyChange.id.desc()).offset(skip).limit(limit))
        changes = list(rows.scalars())
        return ChangePage(changes, total, skip + len(changes) < total)
