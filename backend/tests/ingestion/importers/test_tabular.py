"""`--format csv` and `--format ndjson` on small invented exports: the mapping, own-name columns, local times in a
named zone, constants, the rows skipped and why, and the options refused.

Expected instants are worked out by hand from the zone's offset on that date (Europe/Paris is UTC+1 in winter,
UTC+2 in summer; its clocks go forward at 02:00 on 2026-03-29 and back at 03:00 on 2026-10-25).
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.ingestion.importers import ImporterConfigError, ImportOptions, MappedRow, Tally, importer_for, tabular
from app.ingestion.normalize import NormalizedJob, normalize_record
from app.pricing.catalog import default_catalog

PARIS = {"tz": ZoneInfo("Europe/Paris"), "tz_name": "Europe/Paris"}
NOW = datetime(2026, 11, 1, tzinfo=UTC)
EXPORT = """JobID,Group,State,Start,End,GPUs,Cost,Partition,Comment
101,NLP,COMPLETED,2026-01-14 08:00,2026-01-14 10:30:00,8,12.50,gpu-a,first
102,Vision,FAILED,2026-07-01T09:00:00.250,2026-07-01T09:30:00,0.5,,gpu-b,
103,NLP,TIMEOUT,2026-01-14T08:00:00+05:30,2026-01-14T09:00:00Z,2,,gpu-a,"quoted, with a comma"
"""
EXPORT_MAP = {"job_id": "JobID", "team": "Group", "status": "State", "started_at": "Start", "ended_at": "End",
              "gpu_count": "GPUs", "cost": "Cost", "labels.partition": "Partition"}


def read(fmt: str, text: str, **options: Any) -> tuple[list[MappedRow], Tally]:
    """Every record of `text`, with the tally checked."""
    tally = Tally()
    rows = list(importer_for(fmt)(ImportOptions(**options)).read(io.StringIO(text), tally))
    tally.check()
    return rows, tally


def valid(record: dict[str, Any]) -> NormalizedJob:
    outcome = normalize_record(record, now=NOW, catalog=default_catalog())
    assert isinstance(outcome, NormalizedJob), outcome
    return outcome


def config_error(fmt: str, text: str, **options: Any) -> str:
    with pytest.raises(ImporterConfigError) as caught:
        read(fmt, text, **options)
    return str(caught.value)


def test_the_registry_names_both_formats() -> None:
    assert importer_for("csv") is tabular.CsvImporter
    assert importer_for("ndjson") is tabular.NdjsonImporter
    assert tabular.IMPORTERS == {"csv": tabular.CsvImporter, "ndjson": tabular.NdjsonImporter}


# --- csv: the mapping ---

def test_a_csv_export_is_mapped_column_by_column() -> None:
    rows, tally = read("csv", EXPORT, mapping=EXPORT_MAP, provider="aws", **PARIS)

    assert [row.line for row in rows] == [2, 3, 4]
    assert [row.record for row in rows] == [
        # 08:00 and 10:30 in Paris in January (UTC+1) are 07:00 and 09:30 UTC.
        {"job_id": "101", "team": "NLP", "status": "COMPLETED", "started_at": "2026-01-14T07:00:00Z",
         "ended_at": "2026-01-14T09:30:00Z", "gpu_count": "8", "cost": "12.50", "labels": {"partition": "gpu-a"},
         "provider": "aws"},
        # July is UTC+2; the fraction is kept; the blank Cost cell is left out.
        {"job_id": "102", "team": "Vision", "status": "FAILED", "started_at": "2026-07-01T07:00:00.250000Z",
         "ended_at": "2026-07-01T07:30:00Z", "gpu_count": "0.5", "labels": {"partition": "gpu-b"},
         "provider": "aws"},
        # Timestamps with an offset are sent as they are.
        {"job_id": "103", "team": "NLP", "status": "TIMEOUT", "started_at": "2026-01-14T08:00:00+05:30",
         "ended_at": "2026-01-14T09:00:00Z", "gpu_count": "2", "labels": {"partition": "gpu-a"},
         "provider": "aws"},
    ]
    assert (tally.rows_read, tally.mapped, tally.skipped_total) == (3, 3, 0)
    assert "timestamps without an offset read as wall-clock times in Europe/Paris (--tz)" in tally.notes
    assert "columns ignored: Comment" in tally.notes
    jobs = [valid(row.record) for row in rows]
    # 101 ran 2.5 h; its billed cost is kept exactly.
    assert jobs[0].billed_cost is not None and str(jobs[0].billed_cost) == "12.50"
    assert (jobs[0].ended_at - jobs[0].started_at).total_seconds() == 2.5 * 3600
    assert jobs[1].gpu_milli == 500


def test_columns_named_like_job_fields_are_taken_as_they_are() -> None:
    text = ("job_id,team,status,started_at,ended_at,gpu_type,labels.project,labels,Other\n"
            'j1,ml,succeeded,2026-01-14T08:00:00Z,2026-01-14T09:00:00Z,H100,sft,"{""stage"": ""dev""}",x\n')

    (row,), tally = read("csv", text)

    assert row.record == {"job_id": "j1", "team": "ml", "status": "succeeded", "started_at": "2026-01-14T08:00:00Z",
                          "ended_at": "2026-01-14T09:00:00Z", "gpu_type": "H100",
                          "labels": {"stage": "dev", "project": "sft"}}
    assert "columns ignored: Other" in tally.notes
    valid(row.record)


def test_a_mapping_wins_over_a_column_of_the_fields_own_name() -> None:
    text = "job_id,ID,team,status\nignored,j1,ml,queued\n"

    (row,), tally = read("csv", text, mapping={"job_id": "ID"})

    assert row.record == {"job_id": "j1", "team": "ml", "status": "queued"}
    assert "columns ignored: job_id" in tally.notes


def test_constants_cluster_and_the_from_options() -> None:
    text = "id,Account,Model,team,status\n7,acct,llama,ignored,queued\n"

    (row,), tally = read("csv", text, mapping={"job_id": "id"}, team="Research", model_from="Model",
                         provider="gcp", cluster="slurm-a")

    assert row.record == {"job_id": "slurm-a:7", "model_name": "llama", "status": "queued", "team": "Research",
                          "provider": "gcp"}
    (row,), _ = read("csv", text, mapping={"job_id": "id"}, team_from="Account")
    assert row.record["team"] == "acct"


def test_a_header_less_export_takes_its_column_names_from_fields() -> None:
    text = "j1|x,ml,queued\n\nj2,ml,pending\n"

    rows, tally = read("csv", text, fields=("job_id", "team", "status"))

    assert [(row.line, row.record["job_id"]) for row in rows] == [(1, "j1|x"), (3, "j2")]
    assert tally.rows_read == 2  # the empty line 2 is not a row


# --- csv: local times ---

def test_a_local_time_repeated_by_the_clocks_going_back_is_its_first_occurrence() -> None:
    # 02:30 on 2026-10-25 happens twice in Paris: first at UTC+2 (00:30Z), then at UTC+1 (01:30Z).
    text = "job_id,team,status,started_at\nj1,ml,running,2026-10-25 02:30:00\n"

    (row,), tally = read("csv", text, **PARIS)

    assert row.record["started_at"] == "2026-10-25T00:30:00Z"
    assert "local times that occur twice in Europe/Paris (clocks set back) read as the first one" in tally.notes


def test_a_local_time_skipped_by_the_clocks_going_forward_skips_the_row() -> None:
    text = ("job_id,team,status,started_at\n"
            "j1,ml,running,2026-03-29 02:30\n"    # does not exist in Paris
            "j2,ml,running,2026-02-30 10:00\n"    # no such date
            "j3,ml,running,2026-03-29 03:30\n")   # exists: UTC+2, 01:30Z

    rows, tally = read("csv", text, **PARIS)

    assert [row.record["started_at"] for row in rows] == ["2026-03-29T01:30:00Z"]
    assert tally.skipped == {"local time that cannot be read": 2}
    assert tally.examples["local time that cannot be read"] == [
        "line 2: started_at '2026-03-29 02:30' does not exist in Europe/Paris (the clocks went forward)",
        "line 3: started_at '2026-02-30 10:00' is not a real date and time"]


def test_naive_times_default_to_utc_and_unreadable_times_are_left_to_validation() -> None:
    text = "job_id,team,status,started_at,ended_at\nj1,ml,failed,2026-01-14 08:00,14/01/2026\n"

    (row,), tally = read("csv", text)

    assert row.record["started_at"] == "2026-01-14T08:00:00Z"
    assert row.record["ended_at"] == "14/01/2026"  # not a timestamp: validation refuses it, by field
    assert normalize_record(row.record, now=NOW, catalog=default_catalog())[0].field == "ended_at"  # type: ignore[index]
    assert "timestamps without an offset read as wall-clock times in UTC (--tz)" in tally.notes


# --- csv: rows skipped ---

def test_rows_that_cannot_be_read_are_skipped_with_their_line() -> None:
    text = ("job_id,team,status\n"
            "a,ml,queued\n"
            '"b"x,ml,queued\n'           # 3: bad quoting
            "c,ml\n"                     # 4: too few cells
            ",,\n"                       # 5: every cell blank
            "\n"                         # 6: empty line: not a row
            '"d\nstill d",ml,queued\n'   # 7-8: one row over two lines
            "e,ml,queued\n")             # 9

    rows, tally = read("csv", text)

    assert [(row.line, row.record["job_id"]) for row in rows] == [(2, "a"), (7, "d\nstill d"), (9, "e")]
    assert (tally.rows_read, tally.mapped) == (6, 3)
    assert tally.skipped == {"not readable CSV": 1, "wrong number of cells": 1, "empty row": 1}
    assert tally.examples["wrong number of cells"] == ["line 4: 2 cells; the header has 3"]
    assert tally.examples["not readable CSV"] == ["line 3: ',' expected after '\"'"]


def test_records_are_yielded_as_the_file_is_read() -> None:
    text = "job_id,team,status\n" + "".join(f"j{n},ml,queued\n" for n in range(10_000))
    stream = io.StringIO(text)

    rows = importer_for("csv")(ImportOptions()).read(stream, Tally())
    first = next(rows)

    assert first.record["job_id"] == "j0"
    assert stream.tell() < len(text) // 2


# --- csv: options refused ---

@pytest.mark.parametrize(("options", "message"), [
    ({"mapping": {"jobid": "JobID"}}, "--map jobid=JobID: 'jobid' is not a job field"),
    ({"mapping": {"labels.": "X"}}, "'labels.' is not a job field"),
    ({"mapping": {"user": "Owner"}}, "--map user=Owner: no column 'Owner' in the header; its columns are JobID, "
                                     "Group, State"),
    ({"team": "a", "mapping": {"team": "Group"}}, "--team 'a' and --map team=Group both give team"),
    ({"team_from": "Group", "mapping": {"team": "State"}}, "--team-from Group and --map team=State both give team"),
    ({"epoch": datetime(2026, 1, 1, tzinfo=UTC)}, "--epoch does not apply to --format csv"),
])
def test_options_that_cannot_work_are_refused_before_any_row(options: dict[str, Any], message: str) -> None:
    assert message in config_error("csv", "JobID,Group,State\n1,a,queued\n", **options)


def test_header_problems_are_refused() -> None:
    assert "the file is empty: no header row" in config_error("csv", "")
    assert "column 'team' more than once (columns 2, 3)" in config_error("csv", "job_id,team,team\n")
    assert "separated by ';'" in config_error("csv", "JobID;Group\n", mapping={"job_id": "JobID"})


# --- ndjson ---

def test_an_ndjson_export_is_mapped_key_by_key_with_exact_numbers() -> None:
    text = ('{"JobID": 12345, "team": "ml", "State": "COMPLETED", "meta": {"start": "2026-01-14 08:00"}, '
            '"ended_at": "2026-01-14T09:00:00Z", "cost": 0.1, "gpu_count": 2, "Partition": "p1", "extra": true}\n'
            "\n"
            '{"JobID": "j2", "team": "ml", "State": "queued", "labels": {"a": "b"}, "Partition": 7}\n')

    rows, tally = read("ndjson", text, mapping={"job_id": "JobID", "status": "State", "started_at": "meta.start",
                                                "labels.partition": "Partition"}, **PARIS)

    assert [row.line for row in rows] == [1, 3]
    assert rows[0].record == {"job_id": "12345", "status": "COMPLETED", "started_at": "2026-01-14T07:00:00Z",
                              "labels": {"partition": "p1"}, "team": "ml", "ended_at": "2026-01-14T09:00:00Z",
                              "cost": "0.1", "gpu_count": "2"}
    assert rows[1].record == {"job_id": "j2", "status": "queued", "labels": {"a": "b", "partition": "7"},
                              "team": "ml"}
    assert tally.rows_read == 2
    assert "--map started_at=meta.start: no such key in 1 of 2 objects" in tally.notes
    assert "keys ignored: extra" in tally.notes
    assert str(valid(rows[0].record).billed_cost) == "0.1"


def test_ndjson_lines_that_are_not_objects_are_skipped_with_the_endpoints_messages() -> None:
    text = '{"job_id": "a"}\nnot json\n[1]\n{"a": 1, "a": 2}\n\n{"job_id": "b"}'

    rows, tally = read("ndjson", text)

    assert [(row.line, row.record) for row in rows] == [(1, {"job_id": "a"}), (6, {"job_id": "b"})]
    assert tally.skipped == {"not a JSON object": 3}
    assert tally.examples["not a JSON object"] == [
        "line 2: the line is not valid JSON: Expecting value at column 1",
        "line 3: a job must be a JSON object; this line holds an array",
        "line 4: the line is not valid JSON: duplicate key 'a' in an object"]


def test_an_ndjson_line_over_the_cap_is_skipped_and_the_next_one_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tabular, "MAX_LINE_BYTES", 40)
    text = '{"job_id": "a"}\n{"job_id": "' + "x" * 200 + '"}\n{"job_id": "c"}\n'

    rows, tally = read("ndjson", text)

    assert [(row.line, row.record["job_id"]) for row in rows] == [(1, "a"), (3, "c")]
    assert tally.examples["not a JSON object"] == [
        "line 2: the line is longer than the limit of 40 bytes per line: send one job record (a JSON object) per "
        "line, each line ended by a newline"]


def test_ndjson_refuses_fields_and_epoch() -> None:
    assert "--fields does not apply to --format ndjson" in config_error("ndjson", "", fields=("a",))
    assert "--epoch does not apply to --format ndjson" in config_error(
        "ndjson", "", epoch=datetime(2026, 1, 1, tzinfo=UTC))


def test_mig_slices_from_a_pod_export_are_handed_through_and_read_by_the_service() -> None:
    # A Kubernetes pod export: the MIG resource name in a CSV column, or the node's GPU feature discovery product
    # label in a nested NDJSON key that holds dots itself.
    csv_text = ("pod,team,state,start,end,resource,count\n"
                "p1,ml,Succeeded,2026-01-14T08:00:00Z,2026-01-14T15:00:00Z,nvidia.com/mig-1g.5gb,2\n")
    rows, _ = read("csv", csv_text, mapping={"job_id": "pod", "status": "state", "started_at": "start",
                                             "ended_at": "end", "gpu_type": "resource", "gpu_count": "count"})
    assert rows[0].record["gpu_type"] == "nvidia.com/mig-1g.5gb"
    assert valid(rows[0].record).gpu_type == "A100-40GB-MIG-1G.5GB"

    ndjson_text = ('{"name": "p2", "team": "ml", "status": "succeeded", "started_at": "2026-01-14T08:00:00Z", '
                   '"ended_at": "2026-01-14T09:00:00Z", "labels": {"nvidia.com/gpu.product": '
                   '"NVIDIA-H100-80GB-HBM3-MIG-3g.40gb"}}\n')
    rows, _ = read("ndjson", ndjson_text, mapping={"job_id": "name",
                                                   "gpu_type": "labels.nvidia.com/gpu.product"})
    assert rows[0].record["gpu_type"] == "NVIDIA-H100-80GB-HBM3-MIG-3g.40gb"
    assert valid(rows[0].record).gpu_type == "H100-MIG-3G.40GB"


def test_a_dotted_source_finds_keys_holding_dots_at_any_depth() -> None:
    text = '{"id": "j", "a": {"b.c": {"d": "deep"}}, "x.y": {"z": "whole step"}}\n'
    rows, _ = read("ndjson", text, mapping={"job_id": "id", "labels.one": "a.b.c.d", "labels.two": "x.y.z",
                                            "labels.three": "a.b"})
    assert rows[0].record["labels"] == {"one": "deep", "two": "whole step"}


def test_a_job_id_joined_from_several_columns() -> None:
    text = ("JobID,ArrayIndex,team,status\n"
            "846,0,ml,queued\n"
            "846,1,ml,queued\n"
            "845,,ml,queued\n"            # not an array job: a blank part is left out
            " 847 , 2 ,ml,queued\n")
    rows, tally = read("csv", text, mapping={"job_id": "JobID+ArrayIndex"}, cluster="c")
    assert [row.record["job_id"] for row in rows] == ["c:846_0", "c:846_1", "c:845", "c:847_2"]
    assert "columns read: job_id <- JobID+ArrayIndex, team <- team, status <- status" in tally.notes


def test_a_column_whose_name_holds_a_plus_is_taken_whole() -> None:
    rows, _ = read("csv", "id+task,id,task,team\nwhole,a,b,ml\n", mapping={"job_id": "id+task"})
    assert rows[0].record["job_id"] == "whole"


def test_joined_ndjson_keys_paths_and_numbers() -> None:
    text = ('{"job": {"id": 12}, "task": 3, "team": "ml", "status": "queued"}\n'
            '{"job": {"id": "13"}, "team": "ml", "status": "queued"}\n'
            '{"team": "ml", "status": "queued"}\n')
    rows, tally = read("ndjson", text, mapping={"job_id": "job.id+task"})
    assert [row.record.get("job_id") for row in rows] == ["12_3", "13", None]
    assert "--map job_id=job.id+task: no such key in 1 of 3 objects" in tally.notes
    assert not any(note.startswith("keys ignored") for note in tally.notes)


@pytest.mark.parametrize(("mapping", "message"), [
    ({"job_id": "JobID+Array"}, "--map job_id=JobID+Array: no column 'Array' in the header"),
    ({"job_id": "JobID+"}, "--map job_id=JobID+: a column name is empty; join columns as COLUMN+COLUMN"),
])
def test_joined_sources_that_cannot_work(mapping: dict[str, str], message: str) -> None:
    assert message in config_error("csv", "JobID,team\n1,ml\n", mapping=mapping)


def test_gpu_type_is_a_constant_like_team_and_provider() -> None:
    rows, tally = read("csv", "id,team\na,ml\nb,ml\n", mapping={"job_id": "id"}, gpu_type="V100")
    assert [row.record["gpu_type"] for row in rows] == ["V100", "V100"]
    assert "columns read: job_id <- id, team <- team, gpu_type = 'V100'" in tally.notes
    # Without a gpu_count column, the service counts 1 GPU for a job that names its type.
    assert valid({**rows[0].record, "status": "queued"}).gpu_milli == 1000
    message = config_error("csv", "id,Type\na,T4\n", mapping={"job_id": "id", "gpu_type": "Type"}, gpu_type="V100")
    assert "--gpu-type 'V100' and --map gpu_type=Type both give gpu_type: keep one" in message
