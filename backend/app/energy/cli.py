"""`jobcost energy list | set | unset | recompute`: the coefficients in force, the admins' overrides of them
(`app.energy.overrides_cli`), and recomputing stored jobs' energy figures.

`recompute` acts on the database directly (like `jobcost prices recost`), chunk by chunk, each chunk its own
transaction, with a progress bar; `jobcost db upgrade` runs it for the jobs stored before the figures existed.
The helpers of `app.cli` (settings, one-line database errors) are imported when a command runs."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from app.core.cli_options import DatabaseUrlOption
from app.core.config import Settings
from app.db.engine import create_engine, create_sessionmaker
from app.energy.recompute import recompute_energy
from app.energy.schemas import CoefficientsRead
from app.energy.service import read_coefficients
from app.recost.service import RecostReport

energy_app = typer.Typer(help="Energy, carbon and idle GPU figures (docs/energy.md).", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)


@energy_app.command("list")
def energy_list(database_url: DatabaseUrlOption = None) -> None:
    """The coefficients in force: watts per GPU type, PUE per provider, grid intensity per region, and the
    defaults, with their sources; an admin's override is marked `admin` and its source is `admin:<email>`."""
    from app.cli import _run_with_session, _settings

    async def work(auth: Any) -> CoefficientsRead:
        return await read_coefficients(auth.session)

    body = _run_with_session(_settings(database_url), work)
    gpus = Table("GPU type", "idle W", "full W", "origin", "source", title="GPU power")
    for g in body.gpus:
        gpus.add_row(g.gpu_type, _three(g.idle_watts), _three(g.full_watts), g.origin, g.source)
    pues = Table("provider", "PUE", "origin", "source", title="PUE")
    for p in body.pue:
        pues.add_row(p.provider, _three(p.pue), p.origin, p.source)
    grids = Table("provider", "region", "gCO2e/kWh", "origin", "source", title="Grid intensity")
    for r in body.grid:
        grids.add_row(r.provider, r.region, _three(r.g_co2e_per_kwh), r.origin, r.source)
    d = body.defaults
    defaults = Table("unknown", "default", "source", title="Defaults")
    defaults.add_row("GPU type", f"{_three(d.gpu.idle_watts)} / {_three(d.gpu.full_watts)} W", d.gpu.source)
    defaults.add_row("provider", _three(d.pue.pue), d.pue.source)
    defaults.add_row("region", f"{_three(d.grid.g_co2e_per_kwh)} g/kWh", d.grid.source)
    defaults.add_row("utilisation", d.gpu_utilization, "")
    for table in (gpus, pues, grids, defaults):
        console.print(table)


def _three(thousandths: int) -> str:
    return f"{Decimal(thousandths).scaleb(-3):.3f}"


async def recompute_with_progress(settings: Settings, *, provider: str | None = None, gpu_type: str | None = None,
                                  region: str | None = None, missing_only: bool = False) -> RecostReport:
    """Recompute on the database of `settings` with a progress bar on standard error (when it is a terminal)."""
    engine = create_engine(settings)
    try:
        progress = Progress(SpinnerColumn(), TextColumn("recomputing"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("jobs"), TimeElapsedColumn(), console=err_console,
                            disable=not err_console.is_terminal, transient=True)
        task = progress.add_task("recompute", total=None)

        async def advance(done: int, in_scope: int) -> None:
            progress.update(task, completed=done, total=in_scope)

        with progress:
            return await recompute_energy(create_sessionmaker(engine), provider=provider, gpu_type=gpu_type,
                                          region=region, missing_only=missing_only,
                                          chunk_jobs=settings.recost_chunk_jobs, progress=advance)
    finally:
        await engine.dispose()


def report_lines(report: RecostReport) -> list[str]:
    """The recompute's report: jobs rewritten (of those read), energy (kWh) and carbon (kg CO2e) before → after."""
    return [f"jobs rewritten: {report.jobs_rewritten:,} (of {report.jobs_read:,} read)",
            f"energy (kWh): {Decimal(report.energy_before_mwh).scaleb(-6):.6f} -> "
            f"{Decimal(report.energy_after_mwh).scaleb(-6):.6f}",
            f"carbon (kg CO2e): {Decimal(report.co2e_before_mg).scaleb(-6):.6f} -> "
            f"{Decimal(report.co2e_after_mg).scaleb(-6):.6f}"]


@energy_app.command("recompute")
def energy_recompute(
    provider: Annotated[str | None, typer.Option(help="Only this provider's jobs (canonical name, e.g. aws).")] = None,
    gpu_type: Annotated[str | None, typer.Option(help="Only this GPU type's jobs and its MIG slices'.")] = None,
    region: Annotated[str | None, typer.Option(help="Only jobs in this region (case-folded).")] = None,
    missing: Annotated[bool, typer.Option("--missing", help="Only jobs whose figures were never computed.")] = False,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Recompute the energy, carbon and idle figures of stored jobs with the coefficients in force (every job by
    default), in chunks of JOBCOST_RECOST_CHUNK_JOBS jobs, each its own transaction (snapshots and rollups change
    with their jobs). Idempotent. Prints how many jobs changed and the energy and carbon before and after."""
    from app.cli import DATABASE_ERRORS, _database_problem, _settings

    settings = _settings(database_url)
    try:
        report = asyncio.run(recompute_with_progress(
            settings, provider=provider, gpu_type=gpu_type,
            region=None if region is None else region.strip().casefold(), missing_only=missing))
    except DATABASE_ERRORS as exc:
        _database_problem(settings, exc)
    for line in report_lines(report):
        console.print(line, markup=False, highlight=False, soft_wrap=True)


def _register_override_commands() -> None:
    from app.energy import overrides_cli  # noqa: F401 - registers `set` and `unset` on energy_app


_register_override_commands()
