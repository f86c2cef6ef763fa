"""`jobcost export focus --start --end -o FILE`: the FOCUS 1.2 CSV of `GET /api/v1/export/focus`, written from the
database directly (every team; no service needed)."""

from __future__ import annotations

import asyncio
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, TextIO

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from app.core.cli_options import DatabaseUrlOption
from app.core.config import Settings
from app.db.engine import create_engine, create_sessionmaker
from app.export.focus import focus_lines, header_line
from app.export.schemas import FocusWindow
from app.export.service import FocusExportService
from app.teams.scope import TeamScope

export_app = typer.Typer(help="Cost data in other tools' formats.", no_args_is_help=True)
err_console = Console(stderr=True)


def _window(start: str, end: str) -> FocusWindow:
    try:
        return FocusWindow(start=start, end=end)  # type: ignore[arg-type]
    except ValidationError as exc:
        reasons = "; ".join(f"--{'.'.join(map(str, e['loc']))}: {e['msg']}"
                            for e in exc.errors(include_input=False, include_url=False))
        err_console.print(f"[red]error:[/red] {escape(reasons)}")
        raise typer.Exit(2) from None


async def write_focus(settings: Settings, start: date, end: date, out: TextIO) -> int:
    """Write the window's FOCUS CSV (every team) to `out`, batch by batch; returns the number of data rows."""
    engine = create_engine(settings)
    rows = 0
    try:
        sessions = create_sessionmaker(engine)
        async with sessions() as session:
            export = await FocusExportService(session, TeamScope.everything()).export(start, end)
        out.write(header_line())
        async for batch in export.batches(sessions):
            out.write(focus_lines(batch))
            rows += len(batch)
    finally:
        await engine.dispose()
    return rows


@export_app.command("focus")
def export_focus(
    start: Annotated[str, typer.Option(help="First UTC day exported, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option(help="Last UTC day exported (included), YYYY-MM-DD; at most 366 days.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="CSV file to write; - for standard output.")],
    database_url: DatabaseUrlOption = None,
) -> None:
    """Write every team's cost from START to END (UTC days, both included) as a FOCUS 1.2 cost-and-usage CSV:
    one row per job and day (docs/focus-export.md)."""
    # app.cli imports this module to wire the command: its helpers are imported when the command runs.
    from app.cli import DATABASE_ERRORS, _database_problem, _settings

    window = _window(start, end)
    settings = _settings(database_url)
    to_stdout = str(output) == "-"
    try:
        out = sys.stdout if to_stdout else output.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        err_console.print(f"[red]error:[/red] cannot write {escape(str(output))}: {escape(exc.strerror or str(exc))}")
        raise typer.Exit(2) from None
    try:
        rows = asyncio.run(write_focus(settings, window.start, window.end, out))
    except DATABASE_ERRORS as exc:
        if not to_stdout:  # no half-written file left to be mistaken for the export
            out.close()
            output.unlink(missing_ok=True)
        _database_problem(settings, exc)
    if not to_stdout:
        out.close()
    err_console.print(f"{rows} rows (FOCUS 1.2, {window.start} to {window.end}, UTC days) written to "
                      f"{'standard output' if to_stdout else escape(str(output))}")
