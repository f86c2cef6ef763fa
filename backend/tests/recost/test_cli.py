"""The `recost` command (`jobcost prices recost` once registered): reprices history on the database, prints the
report; --since bounds it; an unreachable database is one line and exit 1."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import typer
from typer.testing import CliRunner

from app.db.engine import create_engine, create_sessionmaker
from app.recost.cli import recost
from tests.cli.conftest import _clean_environment  # noqa: F401 - the CLI reads the environment
from tests.conftest import make_settings
from tests.databases import ScratchDatabase, in_thread
from tests.ingestion.conftest import add_price, job
from tests.recost.conftest import ingest, stored

_app = typer.Typer()
_app.command()(recost)
_app.command("noop")(lambda: None)  # two commands, so `recost` is a subcommand as under `prices`
_runner = CliRunner(env={"COLUMNS": "200", "TTY_COMPATIBLE": "0", "NO_COLOR": "1"})


async def _setup(url: str) -> None:
    engine = create_engine(make_settings(url))
    try:
        sessionmaker = create_sessionmaker(engine)
        await ingest(sessionmaker, [
            job("cli-1", gpu_type="T4", gpu_count=4, cost=None, started_at="2025-06-01T00:00:00Z",
                ended_at="2025-06-01T03:00:00Z"),
            job("cli-2", gpu_type="T4", gpu_count=1, cost=None, started_at="2024-06-01T00:00:00Z",
                ended_at="2024-06-01T01:00:00Z")])
        await add_price(sessionmaker, "T4", "0.25", valid_from=datetime(2020, 1, 1, tzinfo=UTC))
    finally:
        await engine.dispose()


async def _costs(url: str) -> dict[str, int | None]:
    engine = create_engine(make_settings(url))
    try:
        return {k: v["cost"] for k, v in (await stored(create_sessionmaker(engine))).items()}
    finally:
        await engine.dispose()


def test_recost_prints_its_report_and_since_bounds_it(fresh_db: ScratchDatabase) -> None:
    in_thread(lambda: asyncio.run(_setup(fresh_db.url)))

    result = _runner.invoke(_app, ["recost", "--since", "2025-01-01", "--database-url", fresh_db.url])

    assert result.exit_code == 0, result.output
    # 4 GPUs × 3 h × $0.25 = $3; the 2024 job is not in scope.
    assert result.stdout.splitlines() == [
        "jobs recosted: 1 (of 1 in scope; billed jobs never change)",
        "cost (USD): 0.000000 -> 3.000000",
        "unpriced GPU-hours: 12.000000 -> 0.000000"]
    assert in_thread(lambda: asyncio.run(_costs(fresh_db.url))) == {"cli-1": 3_000_000, "cli-2": None}

    again = _runner.invoke(_app, ["recost", "--database-url", fresh_db.url])
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines()[0] == "jobs recosted: 1 (of 2 in scope; billed jobs never change)"
    assert in_thread(lambda: asyncio.run(_costs(fresh_db.url))) == {"cli-1": 3_000_000, "cli-2": 250_000}


def test_a_bad_date_is_exit_2_and_no_database_is_exit_1(tmp_path: object) -> None:
    bad = _runner.invoke(_app, ["recost", "--since", "June", "--database-url", "sqlite+aiosqlite:///x.db"])
    assert bad.exit_code == 2
    missing = _runner.invoke(_app, ["recost", "--database-url",
                                    "postgresql+asyncpg://nobody@127.0.0.1:1/none"])
    assert missing.exit_code == 1 and "database error" in missing.output
