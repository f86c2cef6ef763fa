"""`--format k8s-pods` on small invented pod lists (fixtures/k8s/): both layouts, every status rule, the epoch,
the trace's last instant, fractional GPUs, GPU-model lists, censored pods, and the options it refuses.

Every expected instant is the epoch 2023-01-01T00:00:00Z plus the row's seconds, worked out by hand.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.ingestion.importers import ImporterConfigError, ImportOptions, MappedRow, Tally, importer_for
from app.ingestion.normalize import NormalizedJob, normalize_record
from app.pricing.catalog import default_catalog

FIXTURES = Path(__file__).parent / "fixtures" / "k8s"
OPENB = FIXTURES / "openb_edge.csv"
DLRM = FIXTURES / "dlrm_edge.csv"
EPOCH = datetime(2023, 1, 1, tzinfo=UTC)
OPENB_HEADER = ("name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,"
                "scheduled_time")


def read(source: Path | str, **options: Any) -> tuple[list[MappedRow], Tally]:
    """Every job of a file (or of CSV text), with the tally checked."""
    options = {"epoch": EPOCH, **options}
    if "team" not in options and "team_from" not in options:
        options["team"] = "ml"
    tally = Tally()
    stream = source.open(newline="", encoding="utf-8") if isinstance(source, Path) else io.StringIO(source)
    with stream:
        rows = list(importer_for("k8s-pods")(ImportOptions(**options)).read(stream, tally))
    tally.check()
    return rows, tally


def by_id(rows: list[MappedRow]) -> dict[str, dict[str, Any]]:
    return {row.record["job_id"]: row.record for row in rows}


def times(record: dict[str, Any]) -> tuple[str | None, ...]:
    return tuple(record.get(name) for name in ("submitted_at", "started_at", "ended_at", "observed_at"))


def test_openb_every_row_accounted_for() -> None:
    rows, tally = read(OPENB)
    # 15 pods: 9 map, 6 are skipped for one reason each.
    assert (tally.rows_read, tally.mapped) == (15, 9)
    assert tally.skipped == {"finished but no deletion time": 1, "bad time": 1, "times out of order": 1,
                             "unknown pod_phase": 1, "bad GPU request": 1, "malformed row": 1}
    assert tally.examples["times out of order"] == ["line 12: scheduled_time 450 is before creation_time 500"]
    assert tally.examples["malformed row"] == ["line 15: 2 fields, the header has 11"]
    assert tally.skipped_amounts == {}
    assert [row.line for row in rows] == [2, 3, 4, 5, 6, 7, 8, 9, 16]


def test_openb_statuses_and_runs() -> None:
    records = by_id(read(OPENB)[0])
    # The trace's last instant is the largest time in the file: 10,000 s = 02:46:40.
    assert {job_id: (r["status"], *times(r)) for job_id, r in records.items()} == {
        # Running snapshot, deleted at 7,300 s: ended; reported cancelled. 100 s, 160 s, 7,300 s.
        "pod-ran-deleted": ("cancelled", "2023-01-01T00:01:40Z", "2023-01-01T00:02:40Z", "2023-01-01T02:01:40Z",
                            None),
        "pod-share": ("succeeded", "2023-01-01T00:03:20Z", "2023-01-01T00:03:20Z", "2023-01-01T01:03:20Z", None),
        "pod-multi": ("failed", "2023-01-01T00:05:00Z", "2023-01-01T00:06:40Z", "2023-01-01T00:15:00Z", None),
        "pod-same-twice": ("succeeded", "2023-01-01T00:05:00Z", "2023-01-01T00:06:40Z", "2023-01-01T00:15:00Z",
                           None),
        # Pending, never scheduled, deleted at 800 s: never ran.
        "pod-pending-deleted": ("cancelled", "2023-01-01T00:08:20Z", None, "2023-01-01T00:13:20Z", None),
        "pod-pending-alive": ("queued", "2023-01-01T00:10:00Z", None, None, None),
        # Scheduled at 1,000 s, never deleted: running, observed at the last instant (10,000 s).
        "pod-alive": ("running", "2023-01-01T00:11:40Z", "2023-01-01T00:16:40Z", None, "2023-01-01T02:46:40Z"),
        "pod-cpu": ("cancelled", "2023-01-01T00:00:50Z", "2023-01-01T00:00:55Z", "2023-01-01T02:46:40Z", None),
        "pod-unknown-phase-alive": ("running", "2023-01-01T00:00:20Z", "2023-01-01T00:00:30Z", None,
                                    "2023-01-01T02:46:40Z"),
    }


def test_openb_gpus() -> None:
    records = by_id(read(OPENB)[0])
    gpus = {job_id: (r["gpu_count"], r.get("gpu_type")) for job_id, r in records.items()}
    assert gpus["pod-ran-deleted"] == ("1", None)  # 1 × 1000 / 1000, no gpu_spec
    assert gpus["pod-share"] == ("0.46", "T4")  # 1 × 460 / 1000
    assert gpus["pod-multi"] == ("2", "V100M16")  # 2 × 1000 / 1000; the first of V100M16|V100M32|V100M32
    assert gpus["pod-alive"] == ("8", "A10")
    assert gpus["pod-cpu"] == ("0", None)
    assert gpus["pod-unknown-phase-alive"] == ("0.25", None)  # 1 × 250 / 1000
    assert records["pod-multi"]["labels"] == {"qos": "BE", "pod_phase": "Failed", "cpu_milli": "4000",
                                              "memory_mib": "8192", "num_gpu": "2", "gpu_milli": "1000",
                                              "gpu_spec": "V100M16|V100M32|V100M32"}



def test_openb_mig_slices_are_handed_through_and_stored_canonical() -> None:
    text = (OPENB_HEADER + "\n"
            "mig-res,4000,8192,2,1000,nvidia.com/mig-3g.40gb,LS,Succeeded,0,3600,10\n"
            "mig-label,4000,8192,1,1000,NVIDIA-H100-80GB-HBM3-MIG-1g.10gb|nvidia.com/mig-1g.10gb,LS,Running,0,3600,10\n")
    records = by_id(read(text)[0])
    assert records["mig-res"]["gpu_type"] == "nvidia.com/mig-3g.40gb"
    assert records["mig-label"]["gpu_type"] == "NVIDIA-H100-80GB-HBM3-MIG-1g.10gb"
    now = EPOCH + timedelta(days=1000)
    stored = {job_id: normalize_record(r, now=now, catalog=default_catalog()) for job_id, r in records.items()}
    assert {job_id: (job.gpu_type, job.gpu_milli) for job_id, job in stored.items()
            if isinstance(job, NormalizedJob)} == {"mig-res": ("A100-80GB-MIG-3G.40GB", 2000),
                                                   "mig-label": ("H100-MIG-1G.10GB", 1000)}

def test_openb_notes() -> None:
    _, tally = read(OPENB)
    assert tally.notes == [
        "layout openb (name, num_gpu, gpu_milli, gpu_spec, pod_phase, creation_time, scheduled_time, deletion_time)",
        "times are seconds after --epoch 2023-01-01T00:00:00Z, cut to the millisecond; the trace's last instant is "
        "10000 s, 2023-01-01T02:46:40Z: pods still alive then are running, observed at that instant",
        # pod-ran-deleted and pod-cpu
        "2 pods were deleted after they started with no final phase (a Running, Pending or Unknown snapshot, or no "
        "phase): reported cancelled, ended at deletion_time",
        "1 pods were deleted before they were scheduled: cancelled, never started; 1 were never scheduled and not "
        "deleted: queued",
        "2 pods have no deletion time: running, observed at 10000 s",
        # pod-cpu was deleted at 10,000 s, the last instant
        "1 of the pods reported cancelled were deleted at the trace's last instant: they may have been still "
        "running when the trace was cut",
        # pod-multi lists two distinct models; pod-same-twice lists T4 twice, one model
        "1 pods allowed several GPU models (gpu_spec): gpu_type is the first listed; the whole list is in label "
        "gpu_spec",
    ]


def test_dlrm_every_row_accounted_for_with_team_from_app_name() -> None:
    rows, tally = read(DLRM, team_from="app_name")
    # 8 instances: instance_0 has no time at all, instance_5 no app_name, instance_7 asks for 0.0005 GPU.
    assert (tally.rows_read, tally.mapped) == (8, 5)
    assert tally.skipped == {"no time at all": 1, "no team": 1, "bad GPU request": 1}
    records = by_id(rows)
    assert sorted(records) == ["instance_1", "instance_2", "instance_3", "instance_4", "instance_6"]
    assert {r["team"] for r in records.values()} == {"app_0", "app_1", "app_2", "app_3"}
    # DLRM's model is its service, app_name, unless --model-from says otherwise.
    assert all(r["model_name"] == r["team"] for r in records.values())
    assert {r["provider"] for r in records.values()} == {"alibaba-dlrm"}


def test_dlrm_times_censoring_and_float_noise() -> None:
    records = by_id(read(DLRM, team_from="app_name")[0])
    # The last instant: 86400.9999 s cut to 86400.999 s = 2023-01-02T00:00:00.999Z.
    assert {job_id: (r["status"], *times(r)) for job_id, r in records.items()} == {
        # No creation or scheduled time, deleted at 3,600 s: existed before the trace; starts at the epoch.
        "instance_1": ("cancelled", None, "2023-01-01T00:00:00Z", "2023-01-01T01:00:00Z", None),
        # 475.00000000000006 → 475.000 s; 623 s; 7200.000000000001 → 7,200.000 s.
        "instance_2": ("cancelled", "2023-01-01T00:07:55Z", "2023-01-01T00:10:23Z", "2023-01-01T02:00:00Z", None),
        # 1000.0004 → 1,000.000 s; no deletion time: running until the last instant.
        "instance_3": ("running", "2023-01-01T00:16:40Z", "2023-01-01T00:16:40Z", None,
                       "2023-01-02T00:00:00.999Z"),
        # 80,000 s = 22:13:20; 80,000.5 s; 86,400.999 s.
        "instance_4": ("cancelled", "2023-01-01T22:13:20Z", "2023-01-01T22:13:20.500Z", "2023-01-02T00:00:00.999Z",
                       None),
        "instance_6": ("cancelled", "2023-01-01T00:00:10Z", "2023-01-01T00:00:12.500Z", "2023-01-01T00:00:50.250Z",
                       None),
    }
    assert records["instance_1"]["labels"]["left_censored"] == "true"
    assert "left_censored" not in records["instance_2"]["labels"]
    assert {job_id: r["gpu_count"] for job_id, r in records.items()} == {
        "instance_1": "1", "instance_2": "0", "instance_3": "1", "instance_4": "1", "instance_6": "0.5"}
    assert all("gpu_type" not in r for r in records.values())
    assert records["instance_2"]["labels"]["role"] == "CN"


def test_dlrm_notes() -> None:
    _, tally = read(DLRM, team_from="app_name")
    assert ("1 pods existed before the trace start (no creation or scheduled time, but a deletion time): started at "
            "the epoch (label left_censored)") in tally.notes
    # instance_1, 2, 4 and 6 were deleted after they started.
    assert tally.notes[2].startswith("4 pods were deleted after they started")
    assert "1 pods have no deletion time: running, observed at 86400.999 s" in tally.notes


def test_fixed_team_model_provider_and_cluster() -> None:
    rows, _ = read(DLRM, team="recsys", model_from="role", provider="alibaba", cluster="prism")
    records = by_id(rows)
    # instance_5's empty app_name no longer matters with a fixed team.
    assert "prism:instance_5" in records
    assert {r["team"] for r in records.values()} == {"recsys"}
    assert {r["model_name"] for r in records.values()} == {"HN", "CN"}
    assert {r["provider"] for r in records.values()} == {"alibaba"}


def test_records_are_valid_and_stable() -> None:
    catalog = default_catalog()
    for path in (OPENB, DLRM):
        first, _ = read(path)
        second, _ = read(path)
        assert [row.record for row in first] == [row.record for row in second]
        for row in first:
            job = normalize_record(row.record, now=EPOCH + timedelta(days=30), catalog=catalog)
            assert isinstance(job, NormalizedJob), (row.line, job)


def test_a_run_over_366_days_is_skipped() -> None:
    # Scheduled at 0 s, deleted at 366 days + 1 s = 31,622,401 s.
    text = (OPENB_HEADER + "\np-long,1000,1024,1,1000,,LS,Running,0,31622401,0\n"
            "p-ok,1000,1024,1,1000,,LS,Running,0,60,0\n")
    rows, tally = read(text, epoch=datetime(2000, 1, 1, tzinfo=UTC))
    assert tally.skipped == {"run over 366 days": 1}
    assert [row.record["job_id"] for row in rows] == ["p-ok"]


class _Pipe(io.StringIO):
    def seekable(self) -> bool:
        return False


@pytest.mark.parametrize(("source", "options", "message"), [
    (OPENB, {"epoch": None}, "needs --epoch"),
    (OPENB, {"epoch": datetime(2023, 1, 1)}, "--epoch needs a UTC offset"),  # noqa: DTZ001 (naive on purpose)
    (OPENB, {"epoch": datetime(1969, 12, 31, tzinfo=UTC)}, "must not be before 1970"),
    (OPENB, {"mapping": {"job_id": "name"}}, "takes no --map"),
    (OPENB, {"team": None}, "needs --team NAME or --team-from COLUMN"),
    (OPENB, {"team": "a", "team_from": "qos"}, "not both"),
    (OPENB, {"team_from": "app_name"}, "--team-from app_name: no such column"),
    (OPENB, {"model_from": "model"}, "--model-from model: no such column"),
    (OPENB, {"epoch": datetime(2999, 1, 1, tzinfo=UTC)}, "to 2999-01-01T02:46:40Z, which is in the future"),
    ("", {}, "the file is empty"),
    ("job,start,end\n1,2,3\n", {}, r"unknown header \(job,start,end\); expected a pod list with the header of "
                                   r"openb \(name,cpu_milli,"),
])
def test_what_cannot_be_imported(source: Path | str, options: dict[str, Any], message: str) -> None:
    with pytest.raises(ImporterConfigError, match=message):
        read(source, **options)


def test_a_stream_that_cannot_be_read_twice_is_refused() -> None:
    importer = importer_for("k8s-pods")(ImportOptions(epoch=EPOCH, team="ml"))
    with pytest.raises(ImporterConfigError, match="reads the file twice"):
        list(importer.read(_Pipe(OPENB.read_text()), Tally()))


def test_the_unknown_header_message_names_both_layouts() -> None:
    with pytest.raises(ImporterConfigError) as caught:
        read("a,b\n1,2\n")
    assert OPENB_HEADER in str(caught.value)
    assert "dlrm (instance_sn,role,app_name,cpu_request" in str(caught.value)


def test_malformed_rows_do_not_count_for_the_last_instant() -> None:
    # The short row's "99999" would be scheduled_time if fields were counted from the left: it is not a time.
    text = OPENB_HEADER + "\np-a,1000,1024,1,1000,,LS,Running,0,,60\np-b,1000,1024,1,1000,,LS,Running,99999\n"
    rows, tally = read(text)
    assert tally.skipped == {"malformed row": 1}
    # The last instant is 60 s, p-a's scheduled time: running from 00:01:00 and observed then.
    assert (rows[0].record["status"], rows[0].record["observed_at"]) == ("running", "2023-01-01T00:01:00Z")


@pytest.mark.parametrize("value", ["1e5", "-5", "1234567890123456", "nan", "5s"])
def test_times_that_are_not_plain_seconds(value: str) -> None:
    rows, tally = read(OPENB_HEADER + f"\np-x,1000,1024,1,1000,,LS,Running,0,{value},0\n")
    assert rows == []
    assert tally.skipped == {"bad time": 1}
    assert tally.examples["bad time"] == [f"line 2: deletion_time {value!r} is not a number of seconds ≥ 0"]


@pytest.mark.parametrize(("options", "flag"), [
    ({"fields": ("name", "num_gpu")}, "--fields"),
    ({"tz": ZoneInfo("Asia/Shanghai"), "tz_name": "Asia/Shanghai"}, "--tz"),
])
def test_options_k8s_pods_cannot_use_are_refused_not_ignored(options: dict[str, object], flag: str) -> None:
    # Trace times count from --epoch (no zone applies) and the layouts are fixed (no --fields).
    with pytest.raises(ImporterConfigError, match=flag):
        importer_for("k8s-pods")(ImportOptions(team="t", epoch=datetime(2025, 1, 1, tzinfo=UTC), **options))


def test_gpu_type_names_the_type_of_every_pod_with_gpus() -> None:
    rows, tally = read(DLRM, team_from="app_name", gpu_type="A10")
    records = by_id(rows)
    # DLRM discloses no GPU model: --gpu-type supplies it, for the pods on GPU nodes (gpu_request > 0) only.
    assert {job_id: (r["gpu_count"], r.get("gpu_type")) for job_id, r in records.items()} == {
        job_id: (r["gpu_count"], "A10" if r["gpu_count"] != "0" else None) for job_id, r in records.items()}
    assert any(r["gpu_count"] != "0" for r in records.values())
    assert any(r["gpu_count"] == "0" for r in records.values())
    assert "--gpu-type A10: the GPU type of every pod with GPUs" in tally.notes

    openb = by_id(read(OPENB, gpu_type="V100M32")[0])
    assert (openb["pod-multi"]["gpu_type"], openb["pod-multi"]["labels"]["gpu_spec"]) == (
        "V100M32", "V100M16|V100M32|V100M32")
    assert "gpu_type" not in openb["pod-cpu"]
