"""The README's `jobcost ingest … --format slurm` examples work as written: each `--dry-run` line of the section
"Bringing in real exports" is run as the README spells it (from the repository root), `sacct.txt` being an export
made by the README's own sacct command (the made-up GPU cluster fixture has those columns, with its header)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.cli.helpers import invoke

ROOT = Path(__file__).resolve().parents[3]
README = ROOT / "README.md"
SACCT_EXPORT = ROOT / "backend" / "tests" / "ingestion" / "importers" / "fixtures" / "slurm" / "gpu-cluster.txt"


def _commands() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Bringing in real exports"):]
    section = section[:section.index("\n## ", 1)]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.DOTALL)
    lines = "\n".join(blocks).replace("\\\n", " ").splitlines()
    return [line.split("  #")[0].strip() for line in lines
            if ".venv/bin/jobcost ingest" in line and "--format slurm" in line and "--dry-run" in line]


def test_the_readme_has_a_slurm_example_for_an_export_and_for_the_shipped_sample() -> None:
    commands = _commands()
    assert len(commands) == 2, commands
    # The README's sacct command exports the fixture's columns (read by name, so their order does not matter).
    section = README.read_text(encoding="utf-8").split("## Bringing in real exports")[1]
    exported = re.search(r"--format (JobID,[A-Za-z,]+)", section)
    assert exported is not None
    header = SACCT_EXPORT.read_text(encoding="utf-8").splitlines()[1]
    assert sorted(exported.group(1).split(",")) == sorted(header.split("|"))


@pytest.mark.parametrize("command", _commands())
def test_a_readme_slurm_example_runs_as_written(command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    args = shlex.split(command)
    assert args[:2] == [".venv/bin/jobcost", "ingest"]
    args = [str(SACCT_EXPORT) if arg == "sacct.txt" else arg for arg in args[1:]]

    result = invoke(*args)

    assert result.exit_code == 0, result.output
    assert "0 would be refused" in result.stdout
    assert "skipped 0" not in result.stdout
