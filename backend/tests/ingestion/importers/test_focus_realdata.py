"""`--format focus` on the whole FOCUS 1.0 sample (/work/shared/realdata/focus-1.0-sample/focus_sample.csv,
1,000 rows, CC BY 4.0 FinOps Foundation). The expected counts and amounts are computed here with the csv module
straight from the file, and checked against the figures its SOURCE.txt states. Skipped when the file is absent.
"""

from __future__ import annotations

import csv
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from app.ingestion.importers import ImportOptions, MappedRow, Tally, importer_for
from app.ingestion.normalize import NormalizedJob, normalize_record
from app.pricing.catalog import default_catalog

SAMPLE = Path("/work/shared/realdata/focus-1.0-sample/focus_sample.csv")
NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def sample() -> Path:
    if not SAMPLE.is_file():
        pytest.skip(f"the FOCUS 1.0 sample is not at {SAMPLE} (see /work/shared/realdata/README.md)")
    return SAMPLE


@pytest.fixture(scope="module")
def source_rows(sample: Path) -> list[dict[str, str]]:
    with sample.open(newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def read(path: Path, **options: Any) -> tuple[list[MappedRow], Tally]:
    tally = Tally()
    with path.open(newline="", encoding="utf-8") as stream:
        rows = list(importer_for("focus")(ImportOptions(**options)).read(stream, tally))
    tally.check()
    return rows, tally


def expected_reason(row: dict[str, str]) -> str | None:
    """The skip reason of a row by the documented rules (this file has no class, currency or period quirks)."""
    category = row["ChargeCategory"]
    if category != "Usage":
        return f"{category.lower()} row"
    return "negative billed cost" if Decimal(row["BilledCost"]) < 0 else None


def test_every_row_is_accounted_for(sample: Path, source_rows: list[dict[str, str]]) -> None:
    rows, tally = read(sample)
    reasons = Counter(expected_reason(row) for row in source_rows)
    amounts: dict[str, Decimal] = {}
    for row in source_rows:
        reason = expected_reason(row)
        if reason is not None:
            amounts[reason] = amounts.get(reason, Decimal(0)) + Decimal(row["BilledCost"])
    assert tally.rows_read == len(source_rows) == 1000
    assert tally.mapped == reasons[None] == 985
    assert tally.skipped == {reason: n for reason, n in reasons.items() if reason is not None}
    # SOURCE.txt: one Credit row, two Adjustment rows, and Usage rows with a negative BilledCost (12 of them).
    assert tally.skipped == {"credit row": 1, "adjustment row": 2, "negative billed cost": 12}
    assert tally.skipped_amounts == amounts
    assert amounts["credit row"] == Decimal("-2.6137")
    assert amounts["adjustment row"] == Decimal("0.192") + Decimal("0.080")


def test_mapped_costs_are_the_billed_costs(sample: Path, source_rows: list[dict[str, str]]) -> None:
    rows, tally = read(sample)
    billed = {row["Id"]: Decimal(row["BilledCost"]) for row in source_rows if expected_reason(row) is None}
    assert {row.record["job_id"] for row in rows} == set(billed)
    for row in rows:
        exact = billed[row.record["job_id"]]
        # Half-even to the micro-USD: never more than half a micro-USD away.
        assert abs(Decimal(row.record["cost"]) - exact) <= Decimal("0.0000005")
    exact_total = sum(billed.values(), Decimal(0))
    assert f"the mapped rows bill {exact_total.normalize():f} USD exactly" in " ".join(tally.notes)


def test_the_eight_g5_rows_are_one_a10g_each(sample: Path, source_rows: list[dict[str, str]]) -> None:
    rows, tally = read(sample)
    g5_ids = {row["Id"] for row in source_rows if "g5.4xlarge" in row["ChargeDescription"]}
    assert len(g5_ids) == 8
    g5 = [row.record for row in rows if row.record["job_id"] in g5_ids]
    assert len(g5) == 8
    assert {(r["gpu_type"], r["gpu_count"], r["labels"]["instance_type"]) for r in g5} == {("A10G", "1", "g5.4xlarge")}
    # Each is an hourly charge period: 8 rows × 1 GPU × 1 hour = 8 GPU-hours.
    jobs = [normalize_record(r, now=NOW, catalog=default_catalog()) for r in g5]
    assert all(isinstance(job, NormalizedJob) for job in jobs)
    gpu_ms = sum(job.gpu_milli * (job.run_end - job.started_at).total_seconds() * 1000 for job in jobs
                 if isinstance(job, NormalizedJob))
    assert gpu_ms == 8 * 1000 * 3_600_000
    # The two g3.4xlarge rows (1 Tesla M60 each) are GPU rows too; every other row has no GPU.
    gpu_rows = [row.record for row in rows if row.record["gpu_count"] != "0"]
    assert Counter(r["labels"]["instance_type"] for r in gpu_rows) == {"g5.4xlarge": 8, "g3.4xlarge": 2}
    assert "10 rows on GPU instances (g3.4xlarge × 2, g5.4xlarge × 8); other rows have 0 GPUs" in tally.notes


def test_records_are_valid_and_ids_stable(sample: Path, source_rows: list[dict[str, str]]) -> None:
    first, _ = read(sample, team_from="business_unit", model_from="application")
    second, _ = read(sample, team_from="business_unit", model_from="application")
    assert [row.record for row in first] == [row.record for row in second]
    catalog = default_catalog()
    checked = [(row.line, normalize_record(row.record, now=NOW, catalog=catalog)) for row in first]
    invalid = [(line, job) for line, job in checked if not isinstance(job, NormalizedJob)]
    assert invalid == []
    # Usage rows ≥ 0 that carry a business_unit tag are mapped; the others lack a team.
    tagged = sum(1 for row in source_rows if expected_reason(row) is None and '"business_unit"' in row["Tags"])
    assert len(first) == tagged


def test_default_team_is_the_sub_account(sample: Path, source_rows: list[dict[str, str]]) -> None:
    rows, tally = read(sample)
    names = Counter(row["SubAccountName"] for row in source_rows if expected_reason(row) is None)
    assert Counter(row.record["team"] for row in rows) == names
    assert "team from column SubAccountName (the default; --team or --team-from to change it)" in tally.notes
