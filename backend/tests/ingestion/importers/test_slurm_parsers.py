"""The small parsers of the Slurm importer, each against values worked out by hand: durations, times, TRES and
GPUs (known fault F35's table), states, job ids (F33) and the `--fields` list."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from app.db.models import JobStatus
from app.ingestion.importers import ImporterConfigError
from app.ingestion.importers.slurm_fields import (
    STATE_STATUS,
    GpuAllocation,
    SlurmJobId,
    gpus_from_tres,
    map_state,
    parse_duration,
    parse_field_list,
    parse_job_id,
    parse_sacct_time,
    parse_tres,
)

# --- durations (F34) ---


@pytest.mark.parametrize(("text", "seconds"), [
    ("1-02:03:04", Decimal(1 * 86_400 + 2 * 3_600 + 3 * 60 + 4)),  # 93,784
    ("02:03:04", Decimal(2 * 3_600 + 3 * 60 + 4)),                  # 7,384
    ("03:04.500", Decimal("184.5")),                                # 3 × 60 + 4.5
    ("03:44.623", Decimal("224.623")),                              # the AWS sample's CPU times
    ("00:00:00", Decimal(0)),
    ("00:00.011", Decimal("0.011")),
    ("12-00:00:00", Decimal(12 * 86_400)),
    ("30:00:00", Decimal(30 * 3_600)),                              # hours past a day without a day count
    (" 01:00:00 ", Decimal(3_600)),
])
def test_parse_duration_reads_every_sacct_form(text: str, seconds: Decimal) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(("text", "why"), [
    ("-0:00:16", "negative"),
    ("-1-00:00:00", "negative"),
    ("garbage", "not a duration"),
    ("", "not a duration"),
    ("Unknown", "not a duration"),
    ("1-03:04", "not a duration"),      # a day count needs hours
    ("00:60:00", "out of range"),
    ("00:00:60", "out of range"),
    ("1-24:00:00", "out of range"),
    ("1:2:3:4", "not a duration"),
    ("١٢:٠٠", "not a duration"),        # Arabic-Indic digits are not sacct's
    ("01:00:00.1234567890", "not a duration"),
])
def test_parse_duration_refuses_garbage_and_negatives(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_duration(text)


# --- times ---


def test_sacct_time_is_read_in_the_zone_given() -> None:
    assert parse_sacct_time("2022-02-11T17:14:48", UTC) == datetime(2022, 2, 11, 17, 14, 48, tzinfo=UTC)
    # Berlin is UTC+1 in February and UTC+2 in July.
    berlin = ZoneInfo("Europe/Berlin")
    assert parse_sacct_time("2022-02-11T17:14:48", berlin) == datetime(2022, 2, 11, 16, 14, 48, tzinfo=UTC)
    assert parse_sacct_time("2022-07-05T16:19:59", berlin) == datetime(2022, 7, 5, 14, 19, 59, tzinfo=UTC)


def test_sacct_time_in_the_repeated_autumn_hour_is_the_first_instant() -> None:
    # 2025-10-26 in Berlin: 02:30 happens at 00:30 UTC (still UTC+2) and again at 01:30 UTC; the first is taken.
    assert (parse_sacct_time("2025-10-26T02:30:00", ZoneInfo("Europe/Berlin"))
            == datetime(2025, 10, 26, 0, 30, tzinfo=UTC))


@pytest.mark.parametrize("text", ["Unknown", "None", "", "  ", "unknown", "NONE"])
def test_sacct_time_without_a_time_is_none(text: str) -> None:
    assert parse_sacct_time(text, UTC) is None


@pytest.mark.parametrize("text", ["garbage", "2022-02-11", "2022-13-01T00:00:00", "2022-02-30T00:00:00",
                                  "2022-02-11 17:14:48", "1644599688"])
def test_sacct_time_refuses_anything_else(text: str) -> None:
    with pytest.raises(ValueError, match="not a"):
        parse_sacct_time(text, UTC)


# --- TRES and GPUs (F35) ---


def test_parse_tres_keeps_names_and_values_as_text() -> None:
    assert parse_tres("billing=32,cpu=8,gres/gpu:h100=2,gres/gpu=2,mem=64G,node=1") == {
        "billing": "32", "cpu": "8", "gres/gpu:h100": "2", "gres/gpu": "2", "mem": "64G", "node": "1"}
    assert parse_tres("") == {}


@pytest.mark.parametrize("text", ["cpu=8,gres/gpu", "=2", "cpu=", "cpu=1,cpu=2"])
def test_parse_tres_refuses_malformed_entries(text: str) -> None:
    with pytest.raises(ValueError):
        parse_tres(text)


F35_TABLE = [
    # AllocTRES, gpu_count, gpu_type — known-faults.md F35, row by row.
    ("billing=64,cpu=16,gres/gpu:h100=2,gres/gpu=2,mem=128G,node=1", 2, "h100"),
    ("cpu=32,gres/gpu:a100=4,mem=256G,node=1", 4, "a100"),
    ("cpu=8,gres/gpu=1,mem=32G,node=1", 1, None),
    ("cpu=8,gres/gpu:a100_3g.20gb=1,gres/gpu=1,mem=20G,node=1", 1, "a100_3g.20gb"),
    ("cpu=16,gres/gpu:a100=2,gres/gpu:h100=2,gres/gpu=4,node=2", 4, "mixed"),
    ("cpu=4,mem=16G,node=1", 0, None),
    ("", 0, None),
]


@pytest.mark.parametrize(("tres", "count", "gpu_type"), F35_TABLE)
def test_f35_gpus_from_tres_table(tres: str, count: int, gpu_type: str | None) -> None:
    gpus = gpus_from_tres(parse_tres(tres))
    assert (gpus.count, gpus.gpu_type) == (count, gpu_type)


def test_f35_typed_entries_are_kept_for_the_mixed_case() -> None:
    gpus = gpus_from_tres(parse_tres("cpu=16,gres/gpu:a100=2,gres/gpu:h100=2,gres/gpu=4,node=2"))
    assert gpus == GpuAllocation(4, "mixed", {"a100": 2, "h100": 2})


def test_f35_typed_entries_sum_when_there_is_no_total() -> None:
    # 2 + 3 = 5, never 2 + 3 + a total.
    gpus = gpus_from_tres(parse_tres("gres/gpu:a100=2,gres/gpu:h100=3"))
    assert (gpus.count, gpus.gpu_type) == (5, "mixed")


def test_f35_gpu_memory_and_utilisation_are_not_gpus() -> None:
    # Slurm 23.x also accounts gres/gpumem and gres/gpuutil: neither is a GPU count.
    gpus = gpus_from_tres(parse_tres("cpu=8,gres/gpu=1,gres/gpumem=40G,gres/gpuutil=87,node=1"))
    assert (gpus.count, gpus.gpu_type) == (1, None)


@pytest.mark.parametrize("tres", ["gres/gpu=two", "gres/gpu:h100=1.5", "gres/gpu=-1"])
def test_f35_a_gpu_count_must_be_a_whole_number(tres: str) -> None:
    with pytest.raises(ValueError, match="whole number"):
        gpus_from_tres(parse_tres(tres))


# --- states ---

STATE_TABLE = {
    "PENDING": JobStatus.queued, "RESV_DEL_HOLD": JobStatus.queued, "REQUEUED": JobStatus.queued,
    "REQUEUE_HOLD": JobStatus.queued, "REQUEUE_FED": JobStatus.queued, "SPECIAL_EXIT": JobStatus.queued,
    "RUNNING": JobStatus.running, "CONFIGURING": JobStatus.running, "COMPLETING": JobStatus.running,
    "RESIZING": JobStatus.running, "SUSPENDED": JobStatus.running, "SIGNALING": JobStatus.running,
    "STAGE_OUT": JobStatus.running, "STOPPED": JobStatus.running,
    "COMPLETED": JobStatus.succeeded,
    "FAILED": JobStatus.failed, "TIMEOUT": JobStatus.failed, "OUT_OF_MEMORY": JobStatus.failed,
    "NODE_FAIL": JobStatus.failed, "BOOT_FAIL": JobStatus.failed, "DEADLINE": JobStatus.failed,
    "CANCELLED": JobStatus.cancelled, "REVOKED": JobStatus.cancelled,
    "PREEMPTED": JobStatus.preempted,
}


@pytest.mark.parametrize(("state", "status"), sorted(STATE_TABLE.items()))
def test_map_state_table(state: str, status: JobStatus) -> None:
    assert map_state(state) == (state, status)


def test_the_state_table_is_exactly_the_documented_one() -> None:
    assert STATE_STATUS == STATE_TABLE


@pytest.mark.parametrize(("text", "state"), [
    ("CANCELLED by 1234", "CANCELLED"), ("CANCELLED by 0", "CANCELLED"), ("completed", "COMPLETED"),
    ("CANCELLED+", "CANCELLED"), (" RUNNING ", "RUNNING"),
])
def test_map_state_reads_sacct_spellings(text: str, state: str) -> None:
    assert map_state(text)[0] == state


@pytest.mark.parametrize("text", ["INVALID", "?", "", "CD", "DONE"])
def test_map_state_refuses_unknown_states(text: str) -> None:
    with pytest.raises(ValueError, match="not a Slurm job state"):
        map_state(text)


# --- job ids (F33) ---


@pytest.mark.parametrize(("text", "parsed"), [
    ("7001", SlurmJobId("7001")),
    ("7001_3", SlurmJobId("7001_3")),
    ("7100+0", SlurmJobId("7100+0")),
    ("7001_3.batch", SlurmJobId("7001_3", "batch")),
    ("67108865.batch", SlurmJobId("67108865", "batch")),
    ("123.extern", SlurmJobId("123", "extern")),
    ("123.interactive", SlurmJobId("123", "interactive")),
    ("12.0", SlurmJobId("12", "0")),
    ("123+1.0", SlurmJobId("123+1", "0")),
    ("7200_[1-40%4]", SlurmJobId("7200_[1-40%4]", pending_range=True)),
    ("7200_[3,5,7]", SlurmJobId("7200_[3,5,7]", pending_range=True)),
])
def test_parse_job_id_keeps_ids_as_text(text: str, parsed: SlurmJobId) -> None:
    assert parse_job_id(text) == parsed


@pytest.mark.parametrize("text", ["", "abc", "JobID", "7001_", "7001_3_4", "7001.", "-5", "7001 3"])
def test_parse_job_id_refuses_what_is_not_a_slurm_id(text: str) -> None:
    with pytest.raises(ValueError, match="not a Slurm job id"):
        parse_job_id(text)


# --- the field list ---

AWS_FIELDS = ("State,JobID,ReqCPUS,ReqMem,ReqNodes,Constraints,Submit,Eligible,Start,Elapsed,Suspended,End,ExitCode,"
              "DerivedExitCode,AllocNodes,NCPUS,MaxDiskRead,MaxDiskWrite,MaxPages,MaxRSS,MaxVMSize,CPUTime,UserCPU,"
              "SystemCPU,TotalCPU[,Partition]")


def test_field_list_with_an_optional_last_field() -> None:
    names, optional = parse_field_list(AWS_FIELDS)
    assert len(names) == 25 and names[:2] == ("State", "JobID") and names[-1] == "TotalCPU"
    assert optional == "Partition"
    # The same list split at its commas, as a command line may hand it over, and the `,[Name]` spelling.
    assert parse_field_list(tuple(AWS_FIELDS.split(","))) == (names, "Partition")
    assert parse_field_list(AWS_FIELDS.replace("[,Partition]", ",[Partition]")) == (names, "Partition")


def test_field_list_without_optional_field() -> None:
    assert parse_field_list(("JobID", "Account", "State")) == (("JobID", "Account", "State"), None)


@pytest.mark.parametrize(("fields", "why"), [
    ("", "no field names"),
    ("JobID,[Account],State", "not a sacct field name"),
    ("JobID,Job Name", "not a sacct field name"),
    ("JobID,State,jobid", "given twice"),
    ("JobID,State[,state]", "given twice"),
])
def test_field_list_refuses(fields: str, why: str) -> None:
    with pytest.raises(ImporterConfigError, match=why):
        parse_field_list(fields)
