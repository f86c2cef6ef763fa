"""The Slurm importer on text, without a database: the columns (header or `--fields`), the options, every row
accounted for, steps folded into their jobs, and the records it yields, checked field by field against values
worked out by hand from `fixtures/slurm/gpu-cluster.txt` (a made-up GPU cluster export)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.ingestion.importers import ImporterConfigError, ImportOptions, MappedRow, Tally, importer_for
from app.ingestion.importers.slurm import SlurmImporter
from app.ingestion.importers.slurm_rows import StepBook
from app.ingestion.normalize import NormalizedJob, normalize_record
from app.pricing.catalog import default_catalog

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "slurm"
GPU_CLUSTER = FIXTURES / "gpu-cluster.txt"
# The F33/F34 field list of known-faults.md.
FAULT_FIELDS = ("JobID", "Account", "JobName", "State", "Start", "End", "Elapsed", "AllocTRES")
# A "now" after every instant of the fixtures, fixed (no wall clock in tests).
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def run(body: str, **options: Any) -> tuple[list[MappedRow], Tally]:
    """Import `body` with `options`, read to the end; the tally must account for every row."""
    tally = Tally()
    rows = list(SlurmImporter(ImportOptions(**options)).read(io.StringIO(body), tally))
    tally.check()
    return rows, tally


def by_id(rows: list[MappedRow]) -> dict[str, dict[str, Any]]:
    return {row.record["job_id"]: row.record for row in rows}


def fault_row(job_id: str = "8003", state: str = "COMPLETED", start: str = "2026-01-14T08:00:00",
              end: str = "2026-01-14T10:00:00", elapsed: str = "02:00:00", tres: str = "cpu=8,gres/gpu=1,node=1",
              account: str = "nlp", name: str = "bert-ft") -> str:
    return "|".join((job_id, account, name, state, start, end, elapsed, tres)) + "\n"


def test_the_registry_finds_the_slurm_importer() -> None:
    assert importer_for("slurm") is SlurmImporter
    assert SlurmImporter.format == "slurm"


# --- the GPU cluster fixture, row by row ---


def gpu_cluster(**options: Any) -> tuple[list[MappedRow], Tally]:
    return run(GPU_CLUSTER.read_text(encoding="utf-8"), cluster="gpu-a", provider="testcloud", **options)


def test_gpu_fixture_every_row_is_accounted_for() -> None:
    rows, tally = gpu_cluster()
    # Data rows are lines 3-17 and 19-27 (line 1 is a comment, 2 the header, 18 blank): 15 + 9 = 24.
    assert tally.rows_read == 24
    # Jobs 9001, 9002_0, 9002_1, 9003+0, 9003+1, 9004, 9005, 9006, 9007, 9008, 9012.
    assert tally.mapped == 11
    # Steps on lines 4, 5, 6 (9001), 8 (9002_0), 10 (9002_1), 14 (9003+0), 17 (9005), 21 (9008, before its job).
    assert tally.folded == 8
    assert dict(tally.skipped) == {"pending array range": 1, "step without its job": 1, "no team": 1,
                                   "step of a skipped job": 1, "wrong number of fields": 1}
    assert tally.examples["pending array range"] == [
        "line 11: 9002_[2-9%2]: tasks not started yet (each is listed with its own id once it runs)"]
    assert tally.examples["step without its job"] == ["line 23: no row of job gpu-a:9009 in the file"]
    assert tally.examples["no team"] == [
        "line 24: Account is empty (pass --team NAME to import every job under one team)"]
    assert tally.examples["step of a skipped job"] == ["line 25: job gpu-a:9010 was skipped"]
    assert tally.examples["wrong number of fields"] == ["line 26: 8 fields, expected 12"]
    assert [row.line for row in rows] == [3, 7, 9, 12, 13, 15, 16, 19, 20, 22, 27]
    assert "ignored 1 blank, 1 comment (#) line(s): they are not rows" in tally.notes
    assert "Submit, Start and End read as wall-clock times in UTC (--tz)" in tally.notes


def test_gpu_fixture_finished_job_record() -> None:
    jobs = by_id(gpu_cluster()[0])
    assert jobs["gpu-a:9001"] == {
        "job_id": "gpu-a:9001", "team": "nlp", "status": "succeeded", "model_name": "llama3-8b-sft",
        "gpu_type": "h100", "gpu_count": "8", "provider": "testcloud", "user": "ada",
        "submitted_at": "2026-01-10T07:55:00Z", "started_at": "2026-01-10T08:00:00Z",
        "ended_at": "2026-01-10T12:00:00Z",
        "labels": {"slurm_state": "COMPLETED", "partition": "gpu-h100", "nodes": "1", "cluster": "gpu-a"},
    }


def _summary(record: dict[str, Any]) -> tuple[Any, ...]:
    return (record["status"], record.get("gpu_type"), record["gpu_count"], record.get("started_at"),
            record.get("ended_at"), record.get("observed_at"))


def test_gpu_fixture_status_gpus_and_times_of_every_job() -> None:
    jobs = by_id(gpu_cluster()[0])
    day = "2026-01-10T"
    assert {job_id.removeprefix("gpu-a:"): _summary(r) for job_id, r in jobs.items()} == {
        "9001": ("succeeded", "h100", "8", f"{day}08:00:00Z", f"{day}12:00:00Z", None),
        "9002_0": ("succeeded", "a100", "2", f"{day}09:00:00Z", f"{day}09:30:00Z", None),  # typed only
        "9002_1": ("failed", "a100", "2", f"{day}09:00:00Z", f"{day}10:00:00Z", None),  # TIMEOUT
        "9003+0": ("succeeded", "mixed", "4", f"{day}10:00:00Z", f"{day}12:00:00Z", None),
        "9003+1": ("succeeded", None, "0", f"{day}10:00:00Z", f"{day}12:00:00Z", None),  # CPU-only component
        "9004": ("cancelled", "a100_3g.20gb", "1", f"{day}11:00:00Z", f"{day}11:15:00Z", None),  # MIG slice
        # Running: Start 13:05 + Elapsed 1-02:03:04 (26 h 3 min 4 s) = the next day at 15:08:04.
        "9005": ("running", "h100", "4", f"{day}13:05:00Z", None, "2026-01-11T15:08:04Z"),
        "9006": ("queued", None, "0", None, None, None),
        "9007": ("cancelled", None, "0", None, f"{day}15:10:00Z", None),  # NODE_FAIL before it started
        "9008": ("succeeded", "l4", "1", f"{day}16:00:00Z", f"{day}16:30:00Z", None),
        "9012": ("preempted", None, "2", f"{day}18:00:00Z", f"{day}19:00:00Z", None),  # untyped only
    }


def test_gpu_fixture_labels_keep_what_jobcost_has_no_field_for() -> None:
    jobs = by_id(gpu_cluster()[0])
    assert jobs["gpu-a:9003+0"]["labels"] == {"slurm_state": "COMPLETED", "partition": "gpu-mixed", "nodes": "2",
                                              "cluster": "gpu-a", "gpu_types": "a100=2,h100=2"}
    assert jobs["gpu-a:9004"]["labels"]["slurm_state"] == "CANCELLED by 1234"
    assert jobs["gpu-a:9007"]["labels"]["slurm_state"] == "NODE_FAIL"
    assert jobs["gpu-a:9006"]["submitted_at"] == "2026-01-10T14:00:00Z"
    assert any(note.startswith("NODE_FAIL jobs that never started (no Start) are stored as cancelled")
               for note in gpu_cluster()[1].notes)


def test_gpu_fixture_records_are_valid_jobs() -> None:
    rows, _ = gpu_cluster()
    for row in rows:
        outcome = normalize_record(row.record, now=NOW, catalog=default_catalog())
        assert isinstance(outcome, NormalizedJob), (row.line, outcome)


# --- the columns: header or --fields ---


def test_header_and_matching_fields_agree() -> None:
    body = "JobID|Account|State|Start|End\n1|nlp|COMPLETED|2026-01-14T08:00:00|2026-01-14T09:00:00\n"
    rows, tally = run(body, fields=("jobid", "ACCOUNT", "State", "Start", "End"))
    assert [r.record["job_id"] for r in rows] == ["1"] and tally.rows_read == 1


def test_header_that_differs_from_fields_is_refused() -> None:
    body = "JobID|Account|State|Start|End\n1|nlp|COMPLETED|2026-01-14T08:00:00|2026-01-14T09:00:00\n"
    with pytest.raises(ImporterConfigError, match="differs from --fields"):
        run(body, fields=("JobID", "State", "Account", "Start", "End"))


def test_no_header_and_no_fields_is_refused_naming_fields() -> None:
    with pytest.raises(ImporterConfigError, match="--fields") as caught:
        run(fault_row())
    # The message gives the AWS sample's list, as its SOURCE.txt writes it.
    assert "TotalCPU[,Partition]" in str(caught.value)


def test_parsable_with_a_trailing_bar_is_refused() -> None:
    with pytest.raises(ImporterConfigError, match="--parsable2"):
        run("JobID|Account|State|Start|End|\n")


def test_a_header_naming_a_column_twice_is_refused() -> None:
    with pytest.raises(ImporterConfigError, match="the header line: JobID given twice"):
        run("JobID|Account|State|Start|End|JobID\n")


@pytest.mark.parametrize("fields", [("JobID", "Account", "State", "Start"), ("Account", "State", "Start", "End")])
def test_columns_must_include_jobid_state_start_end(fields: tuple[str, ...]) -> None:
    with pytest.raises(ImporterConfigError, match="lack"):
        run("1|nlp|COMPLETED|2026-01-14T08:00:00\n", fields=fields)


def test_an_empty_file_yields_nothing() -> None:
    assert run("", fields=FAULT_FIELDS) == ([], Tally())
    rows, tally = run("# nothing yet\n\n")
    assert rows == [] and tally.rows_read == 0
    assert tally.notes == ["ignored 1 blank, 1 comment (#) line(s): they are not rows"]


def test_repeated_header_lines_are_not_rows() -> None:
    header = "JobID|Account|State|Start|End\n"
    row = "{}|nlp|COMPLETED|2026-01-14T08:00:00|2026-01-14T09:00:00\n"
    rows, tally = run(header + row.format(1) + header + row.format(2))
    assert [r.record["job_id"] for r in rows] == ["1", "2"] and tally.rows_read == 2
    assert "ignored 1 repeated header line(s): they are not rows" in tally.notes


def test_crlf_line_ends_and_a_byte_order_mark() -> None:
    body = "\ufeffJobID|Account|State|Start|End\r\n1|nlp|COMPLETED|2026-01-14T08:00:00|2026-01-14T09:00:00\r\n"
    rows, _ = run(body)
    assert rows[0].record["ended_at"] == "2026-01-14T09:00:00Z"


def test_optional_last_field_rows_with_and_without_it() -> None:
    fields = "JobID,Account,State,Start,End[,Partition]"
    body = ("1|nlp|COMPLETED|2026-01-14T08:00:00|2026-01-14T09:00:00\n"
            "2|nlp|COMPLETED|2026-01-14T08:00:00|2026-01-14T09:00:00|gpu\n"
            "3|nlp|COMPLETED|2026-01-14T08:00:00\n"
            "4|nlp|COMPLETED|2026-01-14T08:00:00|2026-01-14T09:00:00|gpu|extra\n")
    rows, tally = run(body, fields=(fields,))
    jobs = by_id(rows)
    assert "partition" not in jobs["1"]["labels"] and jobs["2"]["labels"]["partition"] == "gpu"
    assert tally.examples["wrong number of fields"] == ["line 3: 4 fields, expected 5 or 6",
                                                        "line 4: 7 fields, expected 5 or 6"]


def test_without_an_optional_field_one_more_field_is_skipped() -> None:
    rows, tally = run(fault_row().rstrip("\n") + "|gpu\n", fields=FAULT_FIELDS)
    assert rows == [] and tally.examples["wrong number of fields"] == ["line 1: 9 fields, expected 8"]


# --- options ---


def test_without_account_a_team_option_is_required() -> None:
    with pytest.raises(ImporterConfigError, match="--team NAME or --team-from COLUMN"):
        run("1|COMPLETED|2026-01-14T08:00:00|2026-01-14T09:00:00\n", fields=("JobID", "State", "Start", "End"))


def test_team_fixed_by_option_keeps_the_account_as_a_label() -> None:
    rows, _ = run(fault_row(account="proj-17"), fields=FAULT_FIELDS, team="vision")
    assert rows[0].record["team"] == "vision" and rows[0].record["labels"]["account"] == "proj-17"


def test_team_from_another_column() -> None:
    body = "JobID|Account|QOS|State|Start|End\n1|proj-17|nlp|COMPLETED|2026-01-14T08:00:00|2026-01-14T09:00:00\n"
    rows, _ = run(body, team_from="qos")
    assert rows[0].record["team"] == "nlp" and rows[0].record["labels"]["account"] == "proj-17"


@pytest.mark.parametrize(("options", "why"), [
    ({"team": "a", "team_from": "Account"}, "not both"),
    ({"team_from": "Group"}, "--team-from: no column 'Group'"),
    ({"model_from": "Comment"}, "--model-from: no column 'Comment'"),
    ({"mapping": {"team": "Account"}}, "--map: slurm reads sacct's columns by their names"),
    ({"epoch": datetime(2023, 1, 1, tzinfo=UTC)}, "--epoch: sacct times are dates"),
])
def test_options_that_cannot_work_are_refused(options: dict[str, Any], why: str) -> None:
    with pytest.raises(ImporterConfigError, match=why):
        run(fault_row(), fields=FAULT_FIELDS, **options)


def test_model_from_another_column() -> None:
    body = ("JobID|Account|JobName|Comment|State|Start|End\n"
            "1|nlp|train.sh|llama3-8b|COMPLETED|2026-01-14T08:00:00|2026-01-14T09:00:00\n")
    assert run(body)[0][0].record["model_name"] == "train.sh"
    assert run(body, model_from="Comment")[0][0].record["model_name"] == "llama3-8b"


def test_cluster_namespaces_job_ids() -> None:
    rows, tally = run(fault_row("7001_3"), fields=FAULT_FIELDS, cluster="slurm-a")
    assert rows[0].record["job_id"] == "slurm-a:7001_3" and rows[0].record["labels"]["cluster"] == "slurm-a"
    assert not any("--cluster" in note for note in tally.notes)
    _, tally = run(fault_row("7001_3"), fields=FAULT_FIELDS)
    assert any(note.startswith("no --cluster") for note in tally.notes)


def test_cluster_column_namespaces_when_no_cluster_option() -> None:
    body = ("Cluster|JobID|Account|State|Start|End\n"
            "a|1|nlp|COMPLETED|2026-01-14T08:00:00|2026-01-14T09:00:00\n"
            "b|1|nlp|COMPLETED|2026-01-14T08:00:00|2026-01-14T09:00:00\n")
    assert list(by_id(run(body)[0])) == ["a:1", "b:1"]
    assert list(by_id(run(body, cluster="x")[0])) == ["x:1"]  # the option wins: both rows are x:1


def test_provider_is_the_option_or_absent() -> None:
    assert run(fault_row(), fields=FAULT_FIELDS, provider="aws")[0][0].record["provider"] == "aws"
    rows, tally = run(fault_row(), fields=FAULT_FIELDS)
    assert "provider" not in rows[0].record
    assert "no --provider: jobs are stored without a provider, so their GPU time is unpriced" in tally.notes


def test_f34_naive_times_are_read_in_the_zone_given() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    rows, tally = run(fault_row(), fields=FAULT_FIELDS, tz=berlin, tz_name="Europe/Berlin")
    # 08:00 and 10:00 in Berlin in January (UTC+1) are 07:00 and 09:00 UTC.
    assert (rows[0].record["started_at"], rows[0].record["ended_at"]) == ("2026-01-14T07:00:00Z",
                                                                          "2026-01-14T09:00:00Z")
    assert "Submit, Start and End read as wall-clock times in Europe/Berlin (--tz)" in tally.notes


def test_no_alloctres_column_means_no_gpus_and_says_so() -> None:
    body = "JobID|Account|State|Start|End\n1|nlp|COMPLETED|2026-01-14T08:00:00|2026-01-14T09:00:00\n"
    rows, tally = run(body)
    assert rows[0].record["gpu_count"] == "0" and "gpu_type" not in rows[0].record
    assert "no AllocTRES column: every job is imported with 0 GPUs" in tally.notes


# --- states and times ---


def test_running_job_is_observed_at_start_plus_elapsed() -> None:
    rows, _ = run(fault_row(state="RUNNING", end="Unknown", elapsed="03:04.500"), fields=FAULT_FIELDS)
    # 08:00:00 + 184.5 s = 08:03:04.5; no ended_at.
    assert rows[0].record["observed_at"] == "2026-01-14T08:03:04.500Z"
    assert "ended_at" not in rows[0].record


def test_running_job_without_elapsed_is_observed_at_ingest() -> None:
    rows, tally = run(fault_row(state="RUNNING", end="Unknown", elapsed=""), fields=FAULT_FIELDS)
    assert "observed_at" not in rows[0].record
    assert "running jobs without Elapsed are observed at the time of ingest" in tally.notes


def test_running_job_without_start_is_passed_on_for_the_service_to_refuse() -> None:
    rows, tally = run(fault_row(state="RUNNING", start="None", end="Unknown"), fields=FAULT_FIELDS)
    assert rows[0].record["status"] == "running"
    assert "started_at" not in rows[0].record and "observed_at" not in rows[0].record
    outcome = normalize_record(rows[0].record, now=NOW, catalog=default_catalog())
    assert not isinstance(outcome, NormalizedJob)
    assert [(e.field, e.message) for e in outcome] == [("started_at", "a running job needs started_at")]
    assert not any("Elapsed" in note for note in tally.notes)


def test_elapsed_is_read_only_for_running_jobs() -> None:
    # A finished job's run is Start to End; a garbage Elapsed there is not read.
    assert len(run(fault_row(elapsed="garbage"), fields=FAULT_FIELDS)[0]) == 1
    rows, tally = run(fault_row(state="RUNNING", end="Unknown", elapsed="garbage"), fields=FAULT_FIELDS)
    assert rows == [] and tally.examples["unreadable Elapsed"][0].startswith("line 1: Elapsed: 'garbage'")


def test_pending_job_is_queued_without_start() -> None:
    rows, _ = run(fault_row(state="PENDING", start="2026-01-15T00:00:00", end="Unknown", tres=""),
                  fields=FAULT_FIELDS)
    # A Start sacct prints for a pending job is an expected start, not a run.
    assert rows[0].record["status"] == "queued"
    assert "started_at" not in rows[0].record and "ended_at" not in rows[0].record


@pytest.mark.parametrize(("start", "end", "status"), [
    ("2026-01-14T08:00:00", "2026-01-14T09:00:00", "preempted"),  # it ran, then went back to the queue
    ("Unknown", "Unknown", "queued"),
])
def test_requeued_job_by_whether_it_ran(start: str, end: str, status: str) -> None:
    rows, _ = run(fault_row(state="REQUEUED", start=start, end=end), fields=FAULT_FIELDS)
    assert rows[0].record["status"] == status
    assert rows[0].record["labels"]["slurm_state"] == "REQUEUED"


@pytest.mark.parametrize(("row", "reason", "example"), [
    (fault_row(state="INVALID"), "unknown State", "line 1: 'INVALID' is not a Slurm job state jobcost knows"),
    (fault_row(start="garbage"), "unreadable Start",
     "line 1: Start: 'garbage' is not a sacct time (YYYY-MM-DDTHH:MM:SS, Unknown or None)"),
    (fault_row(end="2026-02-30T00:00:00"), "unreadable End",
     "line 1: End: '2026-02-30T00:00:00' is not a real date and time"),
    (fault_row(tres="cpu=8,gres/gpu=two"), "unreadable AllocTRES",
     "line 1: AllocTRES: gres/gpu='two': a GPU count must be a whole number"),
    (fault_row(job_id="abc"), "unreadable JobID",
     "line 1: 'abc' is not a Slurm job id (123, 123_4, 123+1, 123.batch, …)"),
])
def test_unreadable_cells_skip_the_row_naming_field_and_line(row: str, reason: str, example: str) -> None:
    rows, tally = run(row, fields=FAULT_FIELDS)
    assert rows == [] and dict(tally.skipped) == {reason: 1}
    assert tally.examples[reason] == [example]


def test_unreadable_submit_is_named() -> None:
    body = "JobID|Account|Submit|State|Start|End\n1|nlp|yesterday|COMPLETED|2026-01-14T08:00:00|2026-01-14T09:00:00\n"
    _, tally = run(body)
    assert tally.examples["unreadable Submit"] == [
        "line 2: Submit: 'yesterday' is not a sacct time (YYYY-MM-DDTHH:MM:SS, Unknown or None)"]


# --- steps ---


def test_steps_of_array_and_het_jobs_fold_into_their_job() -> None:
    body = "".join([fault_row("7001_4"), fault_row("7001_4.batch"), fault_row("7001_4.extern"),
                    fault_row("7100+1"), fault_row("7100+1.0"), fault_row("7100+1.interactive")])
    rows, tally = run(body, fields=FAULT_FIELDS)
    assert [r.record["job_id"] for r in rows] == ["7001_4", "7100+1"]
    assert (tally.mapped, tally.folded) == (2, 4)


def test_a_step_before_its_job_is_folded_when_the_job_comes() -> None:
    rows, tally = run(fault_row("5.batch") + fault_row("6") + fault_row("5"), fields=FAULT_FIELDS)
    assert [r.record["job_id"] for r in rows] == ["6", "5"]
    assert (tally.mapped, tally.folded, tally.skipped_total) == (2, 1, 0)


def test_a_step_whose_job_never_comes_is_skipped_at_the_end() -> None:
    _, tally = run(fault_row("5.batch") + fault_row("6") + fault_row("7.0"), fields=FAULT_FIELDS)
    assert tally.examples["step without its job"] == ["line 1: no row of job 5 in the file",
                                                      "line 3: no row of job 7 in the file"]


def test_steps_of_a_skipped_job_are_skipped_before_and_after_it() -> None:
    body = fault_row("5.batch") + fault_row("5", start="garbage") + fault_row("5.extern")
    _, tally = run(body, fields=FAULT_FIELDS)
    assert tally.examples["step of a skipped job"] == ["line 1: job 5 was skipped", "line 3: job 5 was skipped"]
    assert dict(tally.skipped) == {"unreadable Start": 1, "step of a skipped job": 2}


def test_the_step_book_forgets_old_jobs_and_gives_up_on_old_waiting_steps() -> None:
    tally = Tally()
    book = StepBook(window=2)
    for key in ("1", "2", "3"):
        tally.read()
        tally.map()
        book.job(key, True, tally)
    tally.read()
    book.step("1", 10, tally)  # job 1 fell out of the window of 2 jobs: the step waits for it
    tally.read()
    book.step("3", 11, tally)  # job 3 is remembered: folded at once
    for key, line in (("8", 12), ("9", 13)):
        tally.read()
        book.step(key, line, tally)  # three steps waiting, more than the window: the oldest is given up
    assert tally.examples["step without its job"] == ["line 10: no row of job 1 in the file"]
    book.finish(tally)
    tally.check()
    assert (tally.folded, tally.skipped["step without its job"]) == (1, 3)


# --- streaming ---


class CountingStream:
    """A text stream that counts the lines handed out, to show the importer does not read ahead."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines(keepends=True)
        self.handed = 0

    def __iter__(self) -> Iterator[str]:
        for line in self.lines:
            self.handed += 1
            yield line


def test_records_are_yielded_as_rows_are_read() -> None:
    # A job is held back only until the next job row (its steps, written right after it, may follow).
    stream = CountingStream("".join(fault_row(str(n)) for n in range(1, 1001)))
    tally = Tally()
    records = SlurmImporter(ImportOptions(fields=FAULT_FIELDS)).read(stream, tally)  # type: ignore[arg-type]
    first = next(records)
    assert first.record["job_id"] == "1" and stream.handed == 2
    assert sum(1 for _ in records) == 999 and stream.handed == 1000
    tally.check()


def test_steps_are_matched_to_their_job_within_their_cluster() -> None:
    # Two clusters in one export, both with a job 5 and a job 6: b's 5.batch is not a step of a:5, and a's 6.batch
    # is folded into a:6 even though b:6 was skipped (no team).
    body = ("Cluster|JobID|Account|State|Start|End\n"
            "a|5|nlp|COMPLETED|2026-01-14T08:00:00|2026-01-14T09:00:00\n"
            "b|5.batch|nlp|COMPLETED|2026-01-14T08:00:00|2026-01-14T09:00:00\n"
            "b|6||COMPLETED|2026-01-14T08:00:00|2026-01-14T09:00:00\n"
            "a|6|nlp|COMPLETED|2026-01-14T08:00:00|2026-01-14T09:00:00\n"
            "a|6.batch|nlp|COMPLETED|2026-01-14T08:00:00|2026-01-14T09:00:00\n")
    rows, tally = run(body, provider="aws")
    assert sorted(row.record["job_id"] for row in rows) == ["a:5", "a:6"]
    assert (tally.rows_read, tally.mapped, tally.folded) == (5, 2, 1)
    assert tally.skipped == {"no team": 1, "step without its job": 1}
    tally.check()


def test_gpu_type_names_the_type_of_every_job_with_gpus() -> None:
    rows, tally = run(GPU_CLUSTER.read_text(encoding="utf-8"), cluster="a", gpu_type="V100")
    records = by_id(rows)
    # job → (gpu_count, gpu_type, tres_gpu_type label): jobs with GPUs take --gpu-type; a type AllocTRES named
    # instead is kept in a label; jobs without GPUs (CPU-only, queued with no AllocTRES) get no type.
    expected = {"a:9001": ("8", "V100", "h100"), "a:9002_0": ("2", "V100", "a100"),
                "a:9003+0": ("4", "V100", "mixed"), "a:9003+1": ("0", None, None),
                "a:9004": ("1", "V100", "a100_3g.20gb"), "a:9006": ("0", None, None),
                "a:9012": ("2", "V100", None)}
    for job_id, (count, gpu_type, tres_type) in expected.items():
        record = records[job_id]
        assert (record["gpu_count"], record.get("gpu_type"), record["labels"].get("tres_gpu_type")) == (
            count, gpu_type, tres_type), job_id
    assert ("--gpu-type V100: the GPU type of every job with GPUs; a type AllocTRES names instead is kept in label "
            "tres_gpu_type") in tally.notes


def test_gpu_type_without_alloctres_applies_to_no_job() -> None:
    rows, tally = run(fault_row(), fields=("JobID", "Account", "JobName", "State", "Start", "End", "Elapsed",
                                           "Comment"), gpu_type="V100")
    assert rows[0].record["gpu_count"] == "0" and "gpu_type" not in rows[0].record
    assert "no AllocTRES column: every job is imported with 0 GPUs, so --gpu-type applies to none" in tally.notes


def test_steps_of_a_job_whose_row_has_the_wrong_field_count_are_steps_of_a_skipped_job() -> None:
    header = "JobID|Account|JobName|State|Start|End|Elapsed|AllocTRES\n"
    body = (header
            + "71|nlp|a|b|COMPLETED|2026-01-14T08:00:00|2026-01-14T09:00:00|01:00:00|cpu=1\n"  # a '|' in JobName
            + "71.batch|nlp|batch|COMPLETED|2026-01-14T08:00:00|2026-01-14T09:00:00|01:00:00|cpu=1\n"
            + "71.0|nlp|python|COMPLETED|2026-01-14T08:00:00|2026-01-14T09:00:00|01:00:00|cpu=1\n"
            + "72.batch|nlp|batch|COMPLETED|2026-01-14T08:00:00|2026-01-14T09:00:00|01:00:00|cpu=1\n"
            + "73|nlp\n"                                                                          # cut short
            + "73.batch|nlp|batch|COMPLETED|2026-01-14T08:00:00|2026-01-14T09:00:00|01:00:00|cpu=1\n"
            + "garbage|x\n")
    rows, tally = run(body, cluster="c")
    assert rows == []
    assert dict(tally.skipped) == {"wrong number of fields": 3, "step of a skipped job": 3,
                                   "step without its job": 1}
    assert tally.examples["step of a skipped job"] == ["line 3: job c:71 was skipped", "line 4: job c:71 was skipped",
                                                       "line 7: job c:73 was skipped"]
    assert tally.examples["step without its job"] == ["line 5: no row of job c:72 in the file"]
