"""`jobcost energy set | unset`: the admins' overrides of the energy coefficients from the command line.

Like `jobcost prices add`, the commands act on the database directly with the rules of the admin API
(`POST/DELETE /api/v1/admin/energy/coefficients`, through `OverrideService`): the change is committed, then the
jobs it touches are recomputed chunk by chunk with a progress bar, and the recompute's report printed. Who made a
change is `--as EMAIL` (an active admin) or `cli`. Exit codes: 0 done; 1 refused (no such override, `--as` not an
active admin, a database error); 2 a bad option value (named)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from app.core.cli_options import DatabaseUrlOption
from app.energy.cli import console, energy_app, recompute_with_progress, report_lines
from app.energy.override_schemas import GpuOverrideIn, GridOverrideIn, PueOverrideIn
from app.energy.overrides import Key, OverrideInput, OverrideService, describe, override_json
from app.pricing.cli import ActorOption, _actor, _change, _usage

_MODELS = {"gpu": GpuOverrideIn, "pue": PueOverrideIn, "grid": GridOverrideIn}
KindArgument = Annotated[str, typer.Argument(metavar="KIND", help="gpu (--gpu-type), pue (--provider) or grid "
                                                                 "(--provider and --region).")]
GpuTypeOption = Annotated[str | None, typer.Option(help="gpu: the GPU type (`H100`).", show_default=False)]
ProviderOption = Annotated[str | None, typer.Option(help="pue, grid: the provider (`aws`, `onprem`).",
                                                    show_default=False)]
RegionOption = Annotated[str | None, typer.Option(help="grid: the region (`us-east-1`).", show_default=False)]


def _kind(kind: str) -> str:
    kind = kind.strip().lower()
    if kind not in _MODELS:
        _usage(f"KIND {kind!r}: one of gpu, pue, grid")
    return kind


def _recompute(settings: Any, key: Key) -> None:
    from app.cli import DATABASE_ERRORS, _database_problem

    kind, provider, gpu_type, region = key
    try:
        report = asyncio.run(recompute_with_progress(
            settings, gpu_type=gpu_type or None, provider=provider or None,
            region=region or None if kind == "grid" else None))
    except DATABASE_ERRORS as exc:
        _database_problem(settings, exc)
    for line in report_lines(report):
        console.print(line, markup=False, highlight=False, soft_wrap=True)


def _figures(row: Any) -> str:
    body = override_json(row)
    return ", ".join(f"{name} {body[name]}" for name in ("idle_watts", "full_watts", "pue", "g_co2e_per_kwh")
                     if body.get(name) is not None)


@energy_app.command("set")
def energy_set(
    kind: KindArgument,
    gpu_type: GpuTypeOption = None,
    provider: ProviderOption = None,
    region: RegionOption = None,
    idle_watts: Annotated[str | None, typer.Option(help="gpu: watts per GPU idle (≤ 3 places).",
                                                   show_default=False)] = None,
    full_watts: Annotated[str | None, typer.Option(help="gpu: watts per GPU at full load.",
                                                   show_default=False)] = None,
    pue: Annotated[str | None, typer.Option(help="pue: the PUE, 1 to 10 (`1.3`).", show_default=False)] = None,
    g_co2e_per_kwh: Annotated[str | None, typer.Option(help="grid: gCO2e per kWh.", show_default=False)] = None,
    note: Annotated[str | None, typer.Option(help="Where the figure comes from.", show_default=False)] = None,
    as_: ActorOption = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Override one coefficient (replacing the shipped file's figure of that key, or adding one), then recompute
    the jobs it touches. Setting the figures and note already in force changes nothing."""
    from app.cli import _settings

    kind = _kind(kind)
    given = {"kind": kind, "gpu_type": gpu_type, "provider": provider, "region": region, "idle_watts": idle_watts,
             "full_watts": full_watts, "pue": pue, "g_co2e_per_kwh": g_co2e_per_kwh, "note": note}
    model = _MODELS[kind]
    fields = set(model.model_fields)
    extra = sorted(name for name, value in given.items() if value is not None and name not in fields)
    if extra:
        _usage(f"--{extra[0].replace('_', '-')}: not an option of kind {kind}")
    try:
        wanted = model.model_validate({k: v for k, v in given.items() if k in fields and v is not None})
    except ValidationError as exc:
        error = exc.errors(include_url=False, include_input=False)[0]
        _usage(f"--{str(error['loc'][0]).replace('_', '-')}: {error['msg']}")
    settings = _settings(database_url)
    actor = _actor(as_)

    async def work(session: Any) -> Any:
        return await OverrideService(session).set([wanted.to_input()], actor)

    outcome = _change(settings, actor, work)
    if outcome.unchanged:
        console.print("unchanged: that override is already in force", markup=False)
        return
    row = outcome.written[0]
    key: Key = (row.kind, row.provider, row.gpu_type, row.region)
    console.print(f"set {describe(key)}: {_figures(row)}", markup=False, highlight=False, soft_wrap=True)
    if outcome.keys:
        _recompute(settings, key)


@energy_app.command("unset")
def energy_unset(
    kind: KindArgument,
    gpu_type: GpuTypeOption = None,
    provider: ProviderOption = None,
    region: RegionOption = None,
    as_: ActorOption = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Remove an override: the shipped file's figure (or the default) is in force again; the jobs it touches are
    recomputed. No override of that key: exit 1."""
    from app.cli import _settings

    kind = _kind(kind)
    needed = {"gpu": ("gpu_type",), "pue": ("provider",), "grid": ("provider", "region")}[kind]
    given = {"gpu_type": gpu_type, "provider": provider, "region": region}
    for name in needed:
        if not (given[name] or "").strip():
            _usage(f"--{name.replace('_', '-')}: required for kind {kind}")
    settings = _settings(database_url)
    actor = _actor(as_)

    async def work(session: Any) -> Any:
        return await OverrideService(session).unset(
            OverrideInput(kind, provider=provider or "", gpu_type=gpu_type or "", region=region or ""), actor)

    row = _change(settings, actor, work)
    key: Key = (row.kind, row.provider, row.gpu_type, row.region)
    console.print(f"unset {describe(key)}: the shipped file's figure is in force again", markup=False,
                  highlight=False, soft_wrap=True)
    _recompute(settings, key)
