"""The `recost` command (registered as `jobcost prices recost`): reprice history with the rate card as it is in
the database now, with a progress bar, and print the report. Acts on the database directly, like `jobcost users`.

`recost_and_report` (and `print_report`) serve the commands that change the rate card too (`prices add`,
`retire`, `import` recost after their change and print the same report). The helpers of `app.cli` (settings,
one-line database errors) are imported when a command runs: `app.cli` imports the modules that register this.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from app.core.cli_options import DatabaseUrlOption
from app.core.config import Settings
from app.core.money import six_places
from app.db.engine import create_engine, create_sessionmaker
from app.pricing.scopes import RecostScope
from app.recost.runner import since_scope
from app.recost.service import Recoster, RecostReport

console = Console()
err_console = Console(stderr=True)


async def recost_with_progress(settings: Settings, scopes: Sequence[RecostScope]) -> RecostReport:
    """Recost the non-billed jobs `scopes` name on the database of `settings`, in `recost_chunk_jobs` chunks, with
    a progress bar on standard error (when it is a terminal; it vanishes at the end). Database errors propagate."""
    engine = create_engine(settings)
    try:
        recoster = Recoster(create_sessionmaker(engine), chunk_jobs=settings.recost_chunk_jobs)
        total = await recoster.count(scopes)
        progress = Progress(SpinnerColumn(), TextColumn("recosting"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("jobs"), TimeElapsedColumn(), console=err_console,
                            disable=not err_console.is_terminal, transient=True)
        task = progress.add_task("recost", total=total)

        async def advance(done: int, in_scope: int) -> None:
            progress.update(task, completed=done, total=in_scope)

        with progress:
            return await recoster.run(scopes, total=total, progress=advance)
    finally:
        await engine.dispose()


def print_report(report: RecostReport) -> None:
    """The report, one figure a line: jobs recosted (of those read), cost and unpriced GPU-hours before → after."""
    lines = [
        f"jobs recosted: {report.jobs_recosted:,} (of {report.jobs_read:,} in scope; billed jobs never change)",
        f"cost (USD): {six_places(report.cost_before)} -> {six_places(report.cost_after)}",
        f"unpriced GPU-hours: {six_places(report.unpriced_gpu_hours_before)} -> "
        f"{six_places(report.unpriced_gpu_hours_after)}",
    ]
    for line in lines:
        console.print(line, markup=False, highlight=False, soft_wrap=True)


def recost(
    since: Annotated[datetime | None, typer.Option(
        formats=["%Y-%m-%d"], show_default=False,
        help="A UTC day (YYYY-MM-DD): recost only the jobs whose run reaches it. Default: every job.")] = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Recost history with the rate card in force: every non-billed job (whose run reaches --since), in chunks of
    JOBCOST_RECOST_CHUNK_JOBS jobs, each its own transaction (snapshots and daily rollups change with their jobs).
    Idempotent: running it again changes nothing. Prints how many jobs changed, and their cost and unpriced
    GPU-hours before and after."""
    from app.cli import _settings

    recost_and_report(_settings(database_url), [since_scope(None if since is None else since.date())])


def recost_and_report(settings: Settings, scopes: Sequence[RecostScope]) -> None:
    """Recost what `scopes` name with a progress bar and print the report; a database that cannot be reached
    (or refuses) is reported in one line with exit 1, never a traceback."""
    from app.cli import DATABASE_ERRORS, _database_problem

    try:
        report = asyncio.run(recost_with_progress(settings, scopes))
    except DATABASE_ERRORS as exc:
        _database_problem(settings, exc)
    print_report(report)
