"""`jobcost energy list` shows the coefficients; `jobcost energy recompute` recomputes stored jobs and prints its
report; an unreachable database is one line and exit 1."""

from __future__ import annotations

import asyncio

from typer.testing import CliRunner

from app.cli import app
from app.db.engine import create_engine, create_sessionmaker
from tests.cli.conftest import _clean_environment  # noqa: F401 - the CLI reads the environment
from tests.conftest import make_settings
from tests.databases import ScratchDatabase, in_thread
from tests.ingestion.conftest import job
from tests.recost.conftest import ingest

_runner = CliRunner(env={"COLUMNS": "200", "TTY_COMPATIBLE": "0", "NO_COLOR": "1"})


async def _setup(url: str) -> None:
    engine = create_engine(make_settings(url))
    try:
        await ingest(create_sessionmaker(engine), [job("cli-e1"), job("cli-e2", gpu_type="T4", gpu_count=1)])
    finally:
        await engine.dispose()


def test_list_shows_every_coefficient_and_the_defaults(fresh_db: ScratchDatabase) -> None:
    result = _runner.invoke(app, ["energy", "list", "--database-url", fresh_db.url])
    assert result.exit_code == 0, result.output
    assert "A100-80GB" in result.stdout and "us-east-1" in result.stdout and "1.580" in result.stdout


def test_set_recomputes_list_shows_the_override_and_unset_restores(fresh_db: ScratchDatabase) -> None:
    in_thread(lambda: asyncio.run(_setup(fresh_db.url)))
    db = ["--database-url", fresh_db.url]
    result = _runner.invoke(app, ["energy", "set", "gpu", "--gpu-type", "H100", "--idle-watts", "100",
                                  "--full-watts", "1000", *db])
    assert result.exit_code == 0, result.output
    # 8 H100s × 4 h: (100 + 0.5 × 900) W × 32 h × 1.58 = 27.808 kWh; × 480 g/kWh = 13.34784 kg.
    assert result.stdout.splitlines() == ["set gpu H100: idle_watts 100.000, full_watts 1000.000",
                                          "jobs rewritten: 1 (of 1 read)",
                                          "energy (kWh): 19.731040 -> 27.808000",
                                          "carbon (kg CO2e): 9.470899 -> 13.347840"]
    again = _runner.invoke(app, ["energy", "set", "gpu", "--gpu-type", "H100", "--idle-watts", "100",
                                 "--full-watts", "1000", *db])
    assert again.stdout.splitlines() == ["unchanged: that override is already in force"]
    listed = _runner.invoke(app, ["energy", "list", *db])
    h100 = next(line for line in listed.stdout.splitlines() if " H100 " in line)
    assert "1000.000" in h100 and "admin" in h100 and "admin:cli" in h100
    unset = _runner.invoke(app, ["energy", "unset", "gpu", "--gpu-type", "H100", *db])
    assert unset.exit_code == 0, unset.output
    assert unset.stdout.splitlines()[1:] == ["jobs rewritten: 1 (of 1 read)",
                                             "energy (kWh): 27.808000 -> 19.731040",
                                             "carbon (kg CO2e): 13.347840 -> 9.470899"]
    assert _runner.invoke(app, ["energy", "unset", "gpu", "--gpu-type", "H100", *db]).exit_code == 1


def test_bad_options_are_named() -> None:
    bad = _runner.invoke(app, ["energy", "set", "pue", "--provider", "aws", "--pue", "0.5"])
    assert bad.exit_code == 2 and "--pue" in bad.output
    wrong = _runner.invoke(app, ["energy", "set", "pue", "--provider", "aws", "--idle-watts", "5"])
    assert wrong.exit_code == 2 and "--idle-watts" in wrong.output


def test_recompute_prints_its_report_and_is_idempotent(fresh_db: ScratchDatabase) -> None:
    in_thread(lambda: asyncio.run(_setup(fresh_db.url)))
    result = _runner.invoke(app, ["energy", "recompute", "--gpu-type", "H100", "--database-url", fresh_db.url])
    assert result.exit_code == 0, result.output
    # Nothing changed since the ingest: the H100 job (19.731040 kWh, 9.470899 kg) is read, not rewritten.
    assert result.stdout.splitlines() == ["jobs rewritten: 0 (of 1 read)",
                                          "energy (kWh): 19.731040 -> 19.731040",
                                          "carbon (kg CO2e): 9.470899 -> 9.470899"]


def test_an_unreachable_database_is_one_line() -> None:
    missing = _runner.invoke(app, ["energy", "recompute", "--database-url",
                                   "postgresql+asyncpg://nobody@127.0.0.1:1/none"])
    assert missing.exit_code == 1 and "database error" in missing.output
