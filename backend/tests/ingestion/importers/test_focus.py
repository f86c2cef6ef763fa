"""`--format focus` on small files: seven rows of the FOCUS 1.0 sample (fixtures/focus/focus_sample_rows.csv,
CC BY 4.0, see fixtures/focus/SOURCE.md) and invented edge cases (fixtures/focus/edge_cases.csv).

Expected values are written out by hand from the fixture rows, with the arithmetic shown.
"""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.ingestion.importers import ImporterConfigError, ImportOptions, MappedRow, Tally, importer_for
from app.ingestion.normalize import NormalizedJob, normalize_record
from app.pricing.catalog import default_catalog

FIXTURES = Path(__file__).parent / "fixtures" / "focus"
SAMPLE_ROWS = FIXTURES / "focus_sample_rows.csv"
EDGE_CASES = FIXTURES / "edge_cases.csv"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def read(source: Path | str, **options: Any) -> tuple[list[MappedRow], Tally]:
    """Every job of a file (or of CSV text), with the tally checked."""
    tally = Tally()
    stream = source.open(newline="", encoding="utf-8") if isinstance(source, Path) else io.StringIO(source)
    with stream:
        rows = list(importer_for("focus")(ImportOptions(**options)).read(stream, tally))
    tally.check()
    return rows, tally


def by_id(rows: list[MappedRow]) -> dict[str, dict[str, Any]]:
    return {row.record["job_id"]: row.record for row in rows}


def valid(record: dict[str, Any]) -> NormalizedJob:
    job = normalize_record(record, now=NOW, catalog=default_catalog())
    assert isinstance(job, NormalizedJob), job
    return job


def test_sample_rows_map_usage_and_skip_credit_adjustment_and_negative_usage() -> None:
    rows, tally = read(SAMPLE_ROWS)
    # 7 rows: 4 usage rows ≥ 0 (11472, 1756931, 5136076, 5201819), the credit 2555992, the adjustment 5209478 and
    # the usage row 5268123 billed -0.00000040000.
    assert (tally.rows_read, tally.mapped) == (7, 4)
    assert tally.skipped == {"credit row": 1, "adjustment row": 1, "negative billed cost": 1}
    assert tally.skipped_amounts == {"credit row": Decimal("-2.61370000000"),
                                     "adjustment row": Decimal("0.19200000000"),
                                     "negative billed cost": Decimal("-0.00000040000")}
    assert tally.examples["credit row"] == ["line 4: BilledCost -2.61370000000"]
    assert sorted(by_id(rows)) == ["11472", "1756931", "5136076", "5201819"]
    assert [row.line for row in rows] == [2, 3, 5, 6]


def test_g5_row_is_one_a10g_billed_over_its_charge_period() -> None:
    record = by_id(read(SAMPLE_ROWS)[0])["1756931"]
    assert {k: v for k, v in record.items() if k != "labels"} == {
        "job_id": "1756931", "team": "Atlas Orion", "status": "succeeded", "provider": "AWS",
        "started_at": "2024-09-27T15:00:00Z", "ended_at": "2024-09-27T16:00:00Z",
        "cost": "1.624000", "gpu_type": "A10G", "gpu_count": "1", "region": "us-east-1"}
    labels = record["labels"]
    assert labels["instance_type"] == "g5.4xlarge"
    assert labels["ResourceId"] == "i-006flle71l19b488a"
    assert labels["ServiceName"] == "Amazon Elastic Compute Cloud"
    assert labels["ChargeCategory"] == "Usage"
    assert labels["tag:business_unit"] == "PeoriaData"
    job = valid(record)
    assert job.region == "us-east-1"  # RegionId, read as the region
    # 1 GPU × 1 hour (15:00 to 16:00) = 1,000 GPU-thousandths over 3,600,000 ms.
    assert job.gpu_milli == 1000
    assert job.run_end - job.started_at == datetime(2024, 9, 27, 16, tzinfo=UTC) - datetime(2024, 9, 27, 15, tzinfo=UTC)
    assert job.billed_cost == Decimal("1.624000")


def test_tiny_cost_is_rounded_half_even_to_the_micro_usd_and_null_or_blank_cells_are_missing() -> None:
    records = by_id(read(SAMPLE_ROWS)[0])
    # 0.00000080000 USD = 0.8 micro-USD → 1 micro-USD.
    assert records["11472"]["cost"] == "0.000001"
    assert records["11472"]["gpu_count"] == "0" and "gpu_type" not in records["11472"]
    # Oracle row 5136076 has blank cells (ResourceName, SkuPriceId) and NULL ones (RegionId): no label for either.
    oracle = records["5136076"]["labels"]
    assert not {"ResourceName", "SkuPriceId", "RegionId"} & set(oracle)
    assert oracle["AvailabilityZone"] == "fjrQ:US-SANJOSE-1-AD-1"
    assert records["5136076"]["provider"] == "Oracle"
    for record in records.values():
        valid(record)


def test_tags_keys_are_trimmed_and_the_first_wins() -> None:
    rows, tally = read(SAMPLE_ROWS, team_from="org")
    # Row 5201819 has "org": "trey" and " org": "trey"; rows without an `org` tag have no team.
    assert by_id(rows)["5201819"]["team"] == "trey"
    assert by_id(rows)["5201819"]["labels"]["tag:org"] == "trey"
    assert "tag: org" not in by_id(rows)["5201819"]["labels"]
    assert any("1 rows have Tags keys that are equal once trimmed" in note for note in tally.notes)
    # 11472 (Tags NULL), 1756931 and 5136076 (no org tag) are usage rows without a team.
    assert tally.skipped["no team"] == 3
    # 0.00000080000 + 1.62400000000 + 0.01200000000 = 1.63600080000
    assert tally.skipped_amounts["no team"] == Decimal("1.63600080000")


def test_team_and_model_from_tags() -> None:
    rows, tally = read(SAMPLE_ROWS, team_from="business_unit", model_from="application")
    record = by_id(rows)["1756931"]
    assert (record["team"], record["model_name"]) == ("PeoriaData", "BrightPathMatrix")
    assert by_id(rows)["5136076"]["team"] == "JakartaSRE"
    # 11472 (Tags NULL) and 5201819 (no business_unit tag): 0.00000080000 + 0.00001500000 = 0.00001580000
    assert tally.skipped["no team"] == 2
    assert tally.skipped_amounts["no team"] == Decimal("0.00001580000")
    assert "team from Tags key 'business_unit'" in tally.notes


def test_fixed_team_provider_and_cluster() -> None:
    rows, _ = read(SAMPLE_ROWS, team="FinOps", provider="aws", cluster="payer-1")
    records = by_id(rows)
    assert sorted(records) == ["payer-1:11472", "payer-1:1756931", "payer-1:5136076", "payer-1:5201819"]
    assert {r["team"] for r in records.values()} == {"FinOps"}
    assert {r["provider"] for r in records.values()} == {"aws"}


def test_naive_charge_periods_are_read_in_the_given_zone() -> None:
    rows, tally = read(SAMPLE_ROWS, tz=ZoneInfo("America/New_York"), tz_name="America/New_York")
    record = by_id(rows)["1756931"]
    # 2024-09-27 15:00 in New York (EDT, UTC−4) is 19:00 UTC.
    assert (record["started_at"], record["ended_at"]) == ("2024-09-27T19:00:00Z", "2024-09-27T20:00:00Z")
    assert "ChargePeriodStart/ChargePeriodEnd without an offset read in America/New_York" in tally.notes


def test_edge_cases_every_row_accounted_for() -> None:
    rows, tally = read(EDGE_CASES)
    # 15 data rows: lines 2–6 and 14 are usage rows that map; the other 9 are skipped, one reason each.
    assert (tally.rows_read, tally.mapped) == (15, 6)
    assert [row.line for row in rows] == [2, 3, 4, 5, 6, 14]
    assert tally.skipped == {"purchase row": 1, "tax row": 1, "correction row": 1, "not billed in USD": 1,
                             "bad BilledCost": 1, "bad charge period": 1, "no team": 1, "malformed row": 1,
                             "unknown ChargeCategory": 1}
    # The EUR row's amount is not added to USD sums; unreadable amounts have none.
    assert tally.skipped_amounts == {"purchase row": Decimal("100.00"), "tax row": Decimal("7.25"),
                                     "correction row": Decimal("-3.10"), "no team": Decimal("1.50"),
                                     "unknown ChargeCategory": Decimal("2.00")}
    assert tally.examples["malformed row"] == ["line 15: 6 fields, the header has 15"]


def test_edge_cases_costs_rounding_and_note() -> None:
    rows, tally = read(EDGE_CASES)
    costs = [row.record["cost"] for row in rows]
    # 32.772; 14.69; 0.5 µUSD → 0 (half to even); 1.5 µUSD → 2; 2.5 µUSD → 2 (half to even); 0.
    assert costs == ["32.772000", "14.690000", "0.000000", "0.000002", "0.000002", "0.000000"]
    # exact: 32.772 + 14.69 + 0.0000005 + 0.0000015 + 0.0000025 + 0 = 47.4620045
    # imported: 32.772 + 14.69 + 0 + 0.000002 + 0.000002 + 0 = 47.462004
    assert ("BilledCost rounded half-even to the micro-USD: the mapped rows bill 47.4620045 USD exactly, "
            "47.462004 USD as imported") in tally.notes
    assert "1 rows have a Tags cell that is not a JSON object: read as no tags" in tally.notes


def test_gpu_instances_from_the_table() -> None:
    rows, tally = read(EDGE_CASES)
    p4d, a2 = rows[0].record, rows[1].record
    assert (p4d["gpu_type"], p4d["gpu_count"], p4d["labels"]["instance_type"]) == ("A100-40GB", "8", "p4d.24xlarge")
    assert (a2["gpu_type"], a2["gpu_count"], a2["provider"]) == ("A100-40GB", "4", "Google Cloud")
    # a2-highgpu-4g: 4 GPUs × 2 hours (00:00 to 02:00) = 8 GPU-hours = 4,000 thousandths × 7,200,000 ms.
    job = valid(a2)
    assert job.gpu_milli * int((job.run_end - job.started_at).total_seconds() * 1000) == 4000 * 7_200_000
    assert "2 rows on GPU instances (a2-highgpu-4g × 1, p4d.24xlarge × 1); other rows have 0 GPUs" in tally.notes
    assert all(row.record["gpu_count"] == "0" for row in rows[2:])


def test_rows_without_id_get_a_stable_hash_of_the_charge() -> None:
    first, _ = read(EDGE_CASES)
    second, _ = read(EDGE_CASES)
    assert [r.record for r in first] == [r.record for r in second]
    ids = [row.record["job_id"] for row in first]
    assert len(set(ids)) == len(ids)
    # Line 2, by the documented recipe (missing columns empty, U+001F between name=value pairs):
    identity = "\x1f".join([
        "ProviderName=AWS", "BillingAccountId=1000", "SubAccountId=2000", "ResourceId=i-0p4d", "SkuId=SKUP4D",
        "SkuPriceId=SKUP4D.OD", "ChargeCategory=Usage", "ChargeClass=",
        "ChargeDescription=$32.772 per On Demand Linux p4d.24xlarge Instance Hour",
        "ChargePeriodStart=2024-09-01 00:00:00", "ChargePeriodEnd=2024-09-01 01:00:00", "CommitmentDiscountId=",
        "PricingCategory="])
    assert ids[0] == "focus-" + hashlib.sha256(identity.encode()).hexdigest()[:32]
    namespaced, _ = read(EDGE_CASES, cluster="gcp-billing")
    assert namespaced[0].record["job_id"] == "gcp-billing:" + ids[0]


def test_edge_case_records_are_valid() -> None:
    rows, _ = read(EDGE_CASES, model_from="application")
    jobs = [valid(row.record) for row in rows]
    assert jobs[0].model_name == "yolo-v8"
    assert jobs[1].model_name is None  # no application tag
    assert jobs[0].team == "Vision"


HEADER = "BilledCost,ChargeCategory,ChargePeriodStart,ChargePeriodEnd,SubAccountName"


@pytest.mark.parametrize(("text", "options", "message"), [
    ("", {}, "the file is empty"),
    ("BilledCost,ChargePeriodStart\n1,2024-09-01 00:00:00\n", {}, "lacks ChargeCategory, ChargePeriodEnd"),
    (HEADER + "\n", {"team_from": "business_unit"}, "--team-from business_unit: not a column of this file, and "
                                                     "the file has no Tags column"),
    (HEADER + "\n", {"model_from": "application"}, "--model-from application"),
    ("BilledCost,ChargeCategory,ChargePeriodStart,ChargePeriodEnd,Tags\n", {}, "no SubAccountName column"),
])
def test_files_and_options_that_cannot_be_imported(text: str, options: dict[str, Any], message: str) -> None:
    with pytest.raises(ImporterConfigError, match=message):
        read(text, **options)


def test_a_team_column_that_is_not_a_tag_key_and_a_byte_order_mark() -> None:
    text = "\ufeff" + HEADER + ",Owner\n1.5,Usage,2024-09-01 00:00:00,2024-09-01 00:30:00,acct,ml-infra\n"
    rows, _ = read(text, team_from="Owner")
    assert rows[0].record["team"] == "ml-infra"
    assert rows[0].record["ended_at"] == "2024-09-01T00:30:00Z"
    assert rows[0].record["job_id"].startswith("focus-")


def test_timestamps_with_an_offset_keep_it() -> None:
    text = HEADER + "\n2,Usage,2024-09-01T00:00:00Z,2024-09-01T03:00:00+02:00,acct\n"
    record = read(text)[0][0].record
    # 03:00 at UTC+2 is 01:00 UTC.
    assert (record["started_at"], record["ended_at"]) == ("2024-09-01T00:00:00Z", "2024-09-01T01:00:00Z")


def test_both_team_options_are_refused() -> None:
    with pytest.raises(ImporterConfigError, match="--team or --team-from, not both"):
        read(SAMPLE_ROWS, team="a", team_from="business_unit")


def test_line_numbers_count_blank_lines_and_multi_line_cells() -> None:
    text = (HEADER + ",ChargeDescription\n"
            "1,Usage,2024-09-01 00:00:00,2024-09-01 01:00:00,acct,\"two\nlines\"\n"  # lines 2–3
            "\n"  # line 4, blank: no row
            "2,Usage,2024-09-01 00:00:00,2024-09-01 01:00:00,acct,one line\n")  # line 5
    rows, tally = read(text)
    assert [row.line for row in rows] == [2, 5]
    assert tally.rows_read == 2
    assert rows[0].record["labels"]["ChargeDescription"] == "two\nlines"


def test_a_cell_too_large_for_the_csv_module_skips_its_row_only() -> None:
    huge = "x" * 200_000  # over the csv module's default limit of 131,072 characters per field
    text = (HEADER + ",Tags\n"
            f"1,Usage,2024-09-01 00:00:00,2024-09-01 01:00:00,acct,\"{huge}\"\n"
            "2,Usage,2024-09-01 00:00:00,2024-09-01 01:00:00,acct,NULL\n")
    rows, tally = read(text)
    assert tally.skipped == {"malformed row": 1}
    assert tally.examples["malformed row"][0].startswith("line 2: unreadable CSV: field larger than field limit")
    assert [row.record["cost"] for row in rows] == ["2.000000"]


@pytest.mark.parametrize("amount", ["1e999999", "1000000000000", "-1000000000000.5", "NaN", "1,5", "1_000"])
def test_amounts_out_of_range_or_unreadable(amount: str) -> None:
    rows, tally = read(HEADER + f"\n\"{amount}\",Usage,2024-09-01 00:00:00,2024-09-01 01:00:00,acct\n")
    assert rows == []
    assert tally.skipped == {"bad BilledCost": 1}
    assert tally.skipped_amounts == {}


@pytest.mark.parametrize(("option", "value", "flag"), [
    ("mapping", {"team": "BillingAccountName"}, "--map/--map-file"),
    ("epoch", datetime(2024, 1, 1, tzinfo=UTC), "--epoch"),
    ("fields", ("Id", "BilledCost"), "--fields"),
    ("gpu_type", "V100", "--gpu-type"),   # FOCUS rows say their instance type: the GPU type follows from it
])
def test_options_focus_cannot_use_are_refused_not_ignored(option: str, value: object, flag: str) -> None:
    # A --map that was silently dropped would look applied: the team would still come from SubAccountName.
    with pytest.raises(ImporterConfigError, match=flag):
        importer_for("focus")(ImportOptions(**{option: value}))


def test_region_is_region_id_else_region_name() -> None:
    # 5136076 (Oracle) has RegionId NULL and RegionName us-sanjose-1; the others have a RegionId.
    regions = {job_id: record.get("region") for job_id, record in by_id(read(SAMPLE_ROWS)[0]).items()}
    assert regions == {"11472": "us-west-2", "1756931": "us-east-1", "5136076": "us-sanjose-1",
                       "5201819": "eastus"}
    overridden = {record.get("region") for record in by_id(read(SAMPLE_ROWS, region="dc-1")[0]).values()}
    assert overridden == {"dc-1"}
