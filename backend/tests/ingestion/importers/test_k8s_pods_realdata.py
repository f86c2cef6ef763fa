"""`--format k8s-pods` on the Alibaba traces in /work/shared/realdata (research or study use only: read in
place, never copied into the repository; skipped when absent). The expected counts are computed here with the
csv module straight from each file, and checked against the figures its SOURCE.txt states.
"""

from __future__ import annotations

import csv
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from app.ingestion.importers import ImportOptions, MappedRow, Tally, importer_for
from app.ingestion.normalize import NormalizedJob, normalize_record
from app.pricing.catalog import default_catalog

REALDATA = Path("/work/shared/realdata")
OPENB_FILES = ("alibaba-openb-v2023/openb_pod_list_gpuspec33.csv", "alibaba-openb-v2023/openb_pod_list_default.csv")
DLRM_FILE = "alibaba-dlrm-v2025/disaggregated_DLRM_trace.csv"
EPOCH = datetime(2023, 1, 1, tzinfo=UTC)
# Well after the epoch plus the longest trace (openb: 12,902,960 s ≈ 149.3 days).
NOW = EPOCH + timedelta(days=400)


def path_of(name: str) -> Path:
    path = REALDATA / name
    if not path.is_file():
        pytest.skip(f"{path} is absent (the Alibaba traces are read from /work/shared/realdata, never copied)")
    return path


def source_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def read(path: Path, **options: Any) -> tuple[list[MappedRow], Tally]:
    tally = Tally()
    with path.open(newline="", encoding="utf-8") as stream:
        rows = list(importer_for("k8s-pods")(ImportOptions(epoch=EPOCH, **options)).read(stream, tally))
    tally.check()
    return rows, tally


def assert_all_valid(rows: list[MappedRow]) -> None:
    catalog = default_catalog()
    checked = [(row.line, normalize_record(row.record, now=NOW, catalog=catalog)) for row in rows]
    assert [(line, job) for line, job in checked if not isinstance(job, NormalizedJob)] == []


def openb_status(row: dict[str, str]) -> str:
    """The documented rule for a pod with a deletion time (every openb pod has one)."""
    assert row["deletion_time"]
    if not row["scheduled_time"]:
        return "cancelled"
    return {"Failed": "failed", "Succeeded": "succeeded"}.get(row["pod_phase"], "cancelled")


@pytest.fixture(scope="module", params=OPENB_FILES)
def openb(request: pytest.FixtureRequest) -> tuple[list[dict[str, str]], list[MappedRow], Tally]:
    path = path_of(request.param)
    return source_rows(path), *read(path, team="ml")


@pytest.fixture(scope="module")
def dlrm() -> tuple[list[dict[str, str]], list[MappedRow], Tally]:
    path = path_of(DLRM_FILE)
    return source_rows(path), *read(path, team_from="app_name")


def test_openb_every_pod_is_mapped_with_its_status(openb: tuple[list[dict[str, str]], list[MappedRow], Tally]) -> None:
    source, rows, tally = openb
    assert tally.rows_read == len(source) == 8152
    assert tally.mapped == 8152 and tally.skipped_total == 0
    assert Counter(row["pod_phase"] for row in source) == {"Running": 5193, "Failed": 1870, "Pending": 897,
                                                           "Succeeded": 192}
    expected = {row["name"]: openb_status(row) for row in source}
    assert {row.record["job_id"]: row.record["status"] for row in rows} == expected
    # Running 5,193 and Pending 897 → cancelled; Failed 1,870; Succeeded 192.
    assert Counter(expected.values()) == {"cancelled": 5193 + 897, "failed": 1870, "succeeded": 192}
    never_started = [row.record for row in rows if "started_at" not in row.record]
    assert len(never_started) == 897
    assert ("5193 pods were deleted after they started with no final phase (a Running, Pending or Unknown "
            "snapshot, or no phase): reported cancelled, ended at deletion_time") in tally.notes


def test_openb_gpus_and_gpu_spec(openb: tuple[list[dict[str, str]], list[MappedRow], Tally]) -> None:
    source, rows, tally = openb
    records = {row.record["job_id"]: row.record for row in rows}
    several = 0
    for row in source:
        record = records[row["name"]]
        assert Decimal(record["gpu_count"]) == Decimal(row["num_gpu"]) * Decimal(row["gpu_milli"]) / 1000
        models = row["gpu_spec"].split("|") if row["gpu_spec"] else []
        assert record.get("gpu_type") == (models[0] if models else None)
        several += len(set(models)) > 1
    if several:
        assert (f"{several} pods allowed several GPU models (gpu_spec): gpu_type is the first listed; the whole "
                "list is in label gpu_spec") in tally.notes
    # SOURCE.txt: 1,088 CPU-only pods.
    assert sum(1 for r in records.values() if r["gpu_count"] == "0") == 1088


def test_openb_last_instant_and_validity(openb: tuple[list[dict[str, str]], list[MappedRow], Tally]) -> None:
    source, rows, tally = openb
    last = max(int(row[name]) for row in source for name in ("creation_time", "scheduled_time", "deletion_time")
               if row[name])
    assert last == 12_902_960
    # 12,902,960 s = 149 days 8 h 9 min 20 s after 2023-01-01T00:00:00Z.
    assert EPOCH + timedelta(seconds=last) == datetime(2023, 5, 30, 8, 9, 20, tzinfo=UTC)
    assert any("last instant is 12902960 s, 2023-05-30T08:09:20Z" in note for note in tally.notes)
    right_censored = sum(1 for row in source if row["deletion_time"] == str(last))
    assert right_censored == 34
    assert any(note.startswith("34 of the pods reported cancelled were deleted at the trace's last instant")
               for note in tally.notes)
    assert_all_valid(rows)


def test_openb_ids_stable_across_reads() -> None:
    path = path_of(OPENB_FILES[0])
    first, _ = read(path, team="ml")
    second, _ = read(path, team="ml")
    assert [row.record for row in first] == [row.record for row in second]


def test_dlrm_every_instance_accounted_for(dlrm: tuple[list[dict[str, str]], list[MappedRow], Tally]) -> None:
    source, rows, tally = dlrm
    no_creation = [row for row in source if not row["creation_time"] and not row["scheduled_time"]]
    no_deletion = [row for row in source if not row["deletion_time"]]
    no_time = [row for row in no_creation if not row["deletion_time"]]
    left_censored = [row for row in no_creation if row["deletion_time"]]
    # SOURCE.txt: 7,280 without creation/scheduled times, 8,878 without deletion, 4,677 with none, 2,603 deleted only.
    assert (len(source), len(no_creation), len(no_deletion), len(no_time), len(left_censored)) == (
        23871, 7280, 8878, 4677, 2603)
    assert tally.rows_read == 23871
    assert tally.skipped == {"no time at all": 4677}
    assert tally.mapped == 23871 - 4677 == 19194
    statuses = Counter(row.record["status"] for row in rows)
    # Alive at the end: 8,878 − 4,677 with no time at all = 4,201 running; every other mapped one was deleted.
    assert statuses == {"running": 8878 - 4677, "cancelled": 23871 - 8878}
    censored = [row.record for row in rows if row.record["labels"].get("left_censored") == "true"]
    assert len(censored) == 2603
    assert {r["started_at"] for r in censored} == {"2023-01-01T00:00:00Z"}
    assert ("2603 pods existed before the trace start (no creation or scheduled time, but a deletion time): "
            "started at the epoch (label left_censored)") in tally.notes


def test_dlrm_gpus_teams_and_validity(dlrm: tuple[list[dict[str, str]], list[MappedRow], Tally]) -> None:
    source, rows, tally = dlrm
    by_sn = {row["instance_sn"]: row for row in source}
    for row in rows:
        record, origin = row.record, by_sn[row.record["job_id"]]
        assert record["gpu_count"] == origin["gpu_request"]  # "0" (CN) or "1" (HN)
        assert record["team"] == record["model_name"] == origin["app_name"]
        assert record["provider"] == "alibaba-dlrm"
    last = max(Decimal(row[name]) for row in source for name in ("creation_time", "scheduled_time", "deletion_time")
               if row[name])
    assert last == Decimal("2677541.0")
    # 2,677,541 s = 30 days 23 h 45 min 41 s after the epoch.
    observed = {row.record["observed_at"] for row in rows if row.record["status"] == "running"}
    assert observed == {"2023-01-31T23:45:41Z"}
    assert_all_valid(rows)
