"""Energy and GPU utilisation of `--format slurm`, on `fixtures/slurm/energy-cluster.txt` (made up from the formats
of sacct(1)), without a database. Expected values worked out by hand:

- 7001: ConsumedEnergyRaw 90,000,000 J / 3,600,000 = 25 kWh. Steps: batch TRESUsageInTot gpuutil 640 over 8 GPUs
  = 0.8; step 0 TRESUsageInAve 70 × 8 tasks = 560 over 8 GPUs = 0.7; extern (800) is not the job's work. Busiest:
  0.8.
- 7002: no ConsumedEnergyRaw; ConsumedEnergy 1.25M = 1,250,000 J = 0.34722… kWh → 0.347222. batch Ave 396 × 1 task
  over 4 GPUs = 0.99.
- 7003: energy 0 and gpuutil 0 (no energy plugin, GPUs not read): not measured, null.
- 7004: ConsumedEnergyRaw 2^64 - 2 (sacct's "no value"): null; the job row's own gpuutil 250 over 2 GPUs = 1.25,
  kept at 1.
- 7005: 9 J = 0.0000025 kWh: half-even to 6 places is 0.000002 (half-up would give 0.000003).
- 7006: ConsumedEnergyRaw `lots`: the job is skipped, saying why.
"""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pytest

from app.ingestion.importers import ImportOptions, Tally
from app.ingestion.importers.slurm import SlurmImporter
from app.ingestion.importers.slurm_energy import joules_to_kwh, parse_energy, row_utilization

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "slurm" / "energy-cluster.txt"


def records() -> tuple[dict[str, dict[str, str]], Tally]:
    tally = Tally()
    rows = list(SlurmImporter(ImportOptions(provider="testcloud")).read(
        io.StringIO(FIXTURE.read_text(encoding="utf-8")), tally))
    tally.check()
    return {row.record["job_id"]: row.record for row in rows}, tally


def test_energy_and_utilization_of_every_job() -> None:
    jobs, tally = records()
    got = {job_id: (r.get("energy_kwh"), r.get("gpu_utilization")) for job_id, r in jobs.items()}
    assert got == {
        "7001": ("25.000000", "0.8000"),
        "7002": ("0.347222", "0.9900"),
        "7003": (None, None),
        "7004": (None, "1.0000"),
        "7005": ("0.000002", None),
    }
    assert tally.skipped["unreadable ConsumedEnergy"] == 1
    assert "ConsumedEnergyRaw" in tally.examples["unreadable ConsumedEnergy"][0]
    assert any("ConsumedEnergy, which sacct rounds" in note for note in tally.notes)


@pytest.mark.parametrize(("text", "joules"), [
    ("123456", Decimal(123456)), ("1.23M", Decimal(1_230_000)), ("2K", Decimal(2000)), ("1.5g", Decimal(1.5e9)),
    ("0", None), ("", None), ("  ", None), ("0.00K", None), ("18446744073709551615", None),
])
def test_energy_cells(text: str, joules: Decimal | None) -> None:
    assert parse_energy(text) == joules


@pytest.mark.parametrize("text", ["-5", "12 J", "1.2X", "n/a"])
def test_unreadable_energy_cells_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not an energy"):
        parse_energy(text)


def test_joules_to_kwh_rounds_half_even_to_a_milliwatt_hour() -> None:
    assert joules_to_kwh(Decimal(3_600_000)) == Decimal("1.000000")
    assert joules_to_kwh(Decimal(9)) == Decimal("0.000002")  # 0.0000025
    assert joules_to_kwh(Decimal(27)) == Decimal("0.000008")  # 0.0000075
    assert joules_to_kwh(Decimal(1)) == Decimal("0.000000")


def test_a_step_without_its_own_gpus_uses_the_jobs() -> None:
    assert row_utilization({"tresusageintot": "gres/gpuutil=150"}, 2) == Decimal("0.7500")
    assert row_utilization({"tresusageintot": "gres/gpuutil=150"}, 0) is None
    assert row_utilization({"tresusageinave": "cpu=00:01:00"}, 2) is None
