"""Unit tests of `app.ingestion.normalize.normalize_record`: one raw job record in, a `NormalizedJob` or the list of
`FieldError`s out (DESIGN.md "Job record", the issue's contract, known faults F09, F10 and F15).

No database and no HTTP: every test passes its own `now` and a small catalog built here with `parse_catalog`, so
nothing depends on the wall clock or on the bundled price file. Expected values are written out by hand.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from app.db.models import JobStatus
from app.ingestion.normalize import FieldError, NormalizedJob, normalize_record
from app.ingestion.wire import decode_json
from app.pricing.catalog import PriceCatalog, parse_catalog

# The time of ingest used throughout: 2026-02-01T12:00:00Z.
NOW = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)

CATALOG: PriceCatalog = parse_catalog({
    "prices": [
        {"provider": "aws", "gpu_type": "A100-80GB", "usd_per_gpu_hour": "4.100000",
         "valid_from": "2020-01-01T00:00:00Z", "source": "https://example.test/aws", "source_date": "2026-01-01"},
        {"provider": "gcp", "gpu_type": "H100", "usd_per_gpu_hour": "2.500000",
         "valid_from": "2020-01-01T00:00:00Z", "source": "https://example.test/gcp", "source_date": "2026-01-01"},
    ],
    "aliases": {
        "gpu_type": {"A100-SXM4-80GB": "A100-80GB", "a100 80gb": "A100-80GB"},
        "provider": {"Amazon": "aws", "Amazon Web Services": "aws"},
    },
})

DROP = object()  # a field given as DROP is left out of the record (None is sent as an explicit null)


def record(**fields: Any) -> dict[str, Any]:
    """A valid finished job (known-faults.md's `B`) with `fields` replaced; DROP removes a field."""
    base: dict[str, Any] = {
        "job_id": "slurm-1001", "team": "vision", "model_name": "resnet50-ft", "gpu_type": "H100", "gpu_count": 8,
        "provider": "testcloud", "status": "COMPLETED",
        "started_at": "2026-01-14T08:00:00Z", "ended_at": "2026-01-14T12:00:00Z", "cost": "64.00",
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not DROP}


def running(**fields: Any) -> dict[str, Any]:
    """A valid running job (no end, no cost) with `fields` replaced."""
    return record(**{"status": "RUNNING", "ended_at": DROP, "cost": DROP, **fields})


def normalize(raw: Any, now: datetime = NOW) -> NormalizedJob | list[FieldError]:
    return normalize_record(raw, now=now, catalog=CATALOG)


def accepted(raw: Any, now: datetime = NOW) -> NormalizedJob:
    result = normalize(raw, now)
    assert isinstance(result, NormalizedJob), f"refused a record the contract accepts: {result}"
    return result


def refused(raw: Any, now: datetime = NOW) -> list[FieldError]:
    result = normalize(raw, now)
    assert isinstance(result, list), f"accepted a record the contract refuses: {result}"
    assert result, "an empty error list"
    assert all(isinstance(e, FieldError) for e in result), result
    return result


def assert_only_error(raw: Any, field: str | None, word: str | None = None, now: datetime = NOW) -> FieldError:
    """The record is refused with exactly one error, on `field`, whose message contains `word` (any case)."""
    errors = refused(raw, now)
    assert [e.field for e in errors] == [field], errors
    if word is not None:
        assert word.casefold() in errors[0].message.casefold(), errors[0]
    return errors[0]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- the base record, field by field -----------------------------------------------------------------------------


def test_base_record_normalised_field_by_field() -> None:
    assert accepted(record(user="ada", submitted_at="2026-01-14T07:55:00Z", labels={"project": "sft"})) == \
        NormalizedJob(
            job_id="slurm-1001", team="vision", status=JobStatus.succeeded, model_name="resnet50-ft",
            gpu_type="H100", gpu_milli=8000, provider="testcloud", user_name="ada",
            submitted_at=utc(2026, 1, 14, 7, 55), started_at=utc(2026, 1, 14, 8), ended_at=utc(2026, 1, 14, 12),
            observed_at=None, billed_cost=Decimal("64.00"), labels={"project": "sft"})


def test_minimal_record_gets_the_defaults() -> None:
    job = accepted({"job_id": "q-1", "team": "nlp", "status": "queued"})
    assert job == NormalizedJob(
        job_id="q-1", team="nlp", status=JobStatus.queued, model_name=None, gpu_type=None, gpu_milli=0,
        provider=None, user_name=None, submitted_at=None, started_at=None, ended_at=None, observed_at=None,
        billed_cost=None, labels={})


# --- status synonyms ---------------------------------------------------------------------------------------------

# What each status needs to be valid on its own (so only the status spelling varies).
TIMES_FOR = {
    JobStatus.queued: {"started_at": DROP, "ended_at": DROP, "cost": DROP, "submitted_at": "2026-01-14T07:55:00Z"},
    JobStatus.running: {"ended_at": DROP, "cost": DROP},
    JobStatus.succeeded: {},
    JobStatus.failed: {},
    JobStatus.cancelled: {},
    JobStatus.preempted: {},
}

STATUS_SPELLINGS = [
    # queued
    ("queued", JobStatus.queued), ("PENDING", JobStatus.queued), ("submitted", JobStatus.queued),
    ("Waiting", JobStatus.queued), ("REQUEUED", JobStatus.queued), ("scheduled", JobStatus.queued),
    # running
    ("running", JobStatus.running), ("RUNNING", JobStatus.running), ("started", JobStatus.running),
    ("in_progress", JobStatus.running), ("In Progress", JobStatus.running), ("in-progress", JobStatus.running),
    ("active", JobStatus.running), ("COMPLETING", JobStatus.running),
    # succeeded
    ("succeeded", JobStatus.succeeded), ("success", JobStatus.succeeded), ("Successful", JobStatus.succeeded),
    ("COMPLETED", JobStatus.succeeded), ("complete", JobStatus.succeeded), ("done", JobStatus.succeeded),
    ("finished", JobStatus.succeeded), ("  Succeeded  ", JobStatus.succeeded),
    # failed
    ("failed", JobStatus.failed), ("FAILURE", JobStatus.failed), ("error", JobStatus.failed),
    ("errored", JobStatus.failed), ("TIMEOUT", JobStatus.failed), ("timed_out", JobStatus.failed),
    ("Timed-Out", JobStatus.failed), ("timed out", JobStatus.failed), ("NODE_FAIL", JobStatus.failed),
    ("out_of_memory", JobStatus.failed), ("OUT-OF-MEMORY", JobStatus.failed), ("oom", JobStatus.failed),
    ("OOM_KILLED", JobStatus.failed), ("oom-killed", JobStatus.failed), ("BOOT_FAIL", JobStatus.failed),
    ("DEADLINE", JobStatus.failed),
    # cancelled
    ("cancelled", JobStatus.cancelled), ("CANCELED", JobStatus.cancelled), ("killed", JobStatus.cancelled),
    ("aborted", JobStatus.cancelled), ("Revoked", JobStatus.cancelled),
    # preempted
    ("PREEMPTED", JobStatus.preempted), ("evicted", JobStatus.preempted), ("interrupted", JobStatus.preempted),
    ("spot_interrupted", JobStatus.preempted), ("Spot-Interrupted", JobStatus.preempted),
    ("spot interrupted", JobStatus.preempted),
]


@pytest.mark.parametrize(("spelling", "status"), [pytest.param(s, st, id=s) for s, st in STATUS_SPELLINGS])
def test_status_synonym(spelling: str, status: JobStatus) -> None:
    assert accepted(record(status=spelling, **TIMES_FOR[status])).status is status


@pytest.mark.parametrize("value", [
    pytest.param("paused", id="unknown-word"),
    pytest.param("COMPLETED_OK", id="near-synonym"),
    pytest.param("cancelled by 1234", id="slurm-cancelled-by"),
    pytest.param("", id="empty"),
    pytest.param("   ", id="blank"),
    pytest.param(3, id="number"),
    pytest.param(None, id="null"),
])
def test_unknown_status_refused(value: Any) -> None:
    assert_only_error(record(status=value), "status")


def test_missing_status_refused() -> None:
    assert_only_error(record(status=DROP), "status", "required")


# --- timestamps (F09 translated: strings only, RFC 3339 with an offset, kept to the millisecond in UTC) -----------

ACCEPTED_TIMESTAMPS = [
    pytest.param("2026-01-10T08:00:00Z", utc(2026, 1, 10, 8), id="zulu"),
    pytest.param("2026-01-10T08:00:00z", utc(2026, 1, 10, 8), id="lowercase-z"),
    pytest.param("2026-01-10t08:00:00Z", utc(2026, 1, 10, 8), id="lowercase-t"),
    pytest.param("2026-01-10T08:00:00+00:00", utc(2026, 1, 10, 8), id="plus-zero-offset"),
    pytest.param("2026-01-10T08:00:00.1Z", utc(2026, 1, 10, 8, 0, 0, 100_000), id="one-digit-fraction"),
    pytest.param("2026-01-10T08:00:00.123Z", utc(2026, 1, 10, 8, 0, 0, 123_000), id="ms-fraction"),
    # F09 wanted µs kept; the contract keeps milliseconds and drops the rest (truncation, not rounding).
    pytest.param("2026-01-10T08:00:00.123456Z", utc(2026, 1, 10, 8, 0, 0, 123_000), id="us-fraction-cut-to-ms"),
    pytest.param("2026-01-10T08:00:00.999999999Z", utc(2026, 1, 10, 8, 0, 0, 999_000), id="ns-fraction-not-rounded"),
    pytest.param("2026-01-10T13:30:00+05:30", utc(2026, 1, 10, 8), id="plus-0530"),
    pytest.param("2026-01-10T03:00:00-05:00", utc(2026, 1, 10, 8), id="minus-0500"),
    pytest.param("2026-01-09T23:00:00-09:00", utc(2026, 1, 10, 8), id="offset-crosses-midnight"),
    pytest.param("2026-01-10 08:00:00Z", utc(2026, 1, 10, 8), id="space-separator"),
    pytest.param("2026-01-10 13:30:00.5+05:30", utc(2026, 1, 10, 8, 0, 0, 500_000), id="space-fraction-offset"),
    pytest.param("  2026-01-10T08:00:00Z  ", utc(2026, 1, 10, 8), id="surrounding-spaces-trimmed"),
]


@pytest.mark.parametrize(("sent", "stored"), ACCEPTED_TIMESTAMPS)
def test_timestamp_accepted(sent: str, stored: datetime) -> None:
    job = accepted(record(started_at=sent, ended_at="2026-01-10T12:00:00Z"))
    assert job.started_at == stored
    assert job.started_at is not None and job.started_at.utcoffset() is not None
    assert job.started_at.utcoffset().total_seconds() == 0, "stored in UTC"
    assert job.started_at.microsecond == stored.microsecond, "kept to the millisecond exactly"


REFUSED_TIMESTAMPS = [
    pytest.param(1768032000, id="epoch-seconds"),
    pytest.param(1768032000000, id="epoch-ms"),
    pytest.param(1768032000000000, id="epoch-us"),
    pytest.param(Decimal("1768032000.5"), id="epoch-seconds-fraction"),
    pytest.param("1768032000", id="epoch-seconds-string"),
    pytest.param(True, id="bool"),
    pytest.param("2026-01-10", id="date-only"),
    pytest.param("10/01/2026 08:00", id="day-month-year"),
    pytest.param("2026-01-10T08:00:00", id="naive"),
    pytest.param("2026-01-10T08:00Z", id="no-seconds"),
    pytest.param("20260110T080000Z", id="basic-format"),
    pytest.param("2026-01-10T08:00:00.Z", id="empty-fraction"),
    pytest.param("2026-01-10T08:00:00.1234567891Z", id="ten-digit-fraction"),
    pytest.param("2026-01-10T08:00:00+0530", id="offset-without-colon"),
    pytest.param("2026-01-10T08:00:00+05", id="offset-hours-only"),
    pytest.param("2026-01-10T08:00:00+24:00", id="offset-hour-24"),
    pytest.param("2026-01-10T08:00:00+05:60", id="offset-minute-60"),
    pytest.param("2026-01-10T08:00:00 UTC", id="zone-name"),
    pytest.param("2026-02-30T08:00:00Z", id="feb-30"),
    pytest.param("2025-02-29T08:00:00Z", id="feb-29-non-leap"),
    pytest.param("2026-13-01T08:00:00Z", id="month-13"),
    pytest.param("2026-01-10T24:00:00Z", id="hour-24"),
    pytest.param("2026-01-10T08:60:00Z", id="minute-60"),
    pytest.param("yesterday", id="word"),
]


@pytest.mark.parametrize("sent", REFUSED_TIMESTAMPS)
def test_timestamp_refused(sent: Any) -> None:
    assert_only_error(record(started_at=sent, ended_at="2026-01-10T12:00:00Z"), "started_at")


@pytest.mark.parametrize("sent", [
    pytest.param("\u0662\u0660\u0662\u0666-01-10T08:00:00Z", id="arabic-indic-year"),
    pytest.param("\uff12\uff10\uff12\uff16-01-10T08:00:00Z", id="fullwidth-year"),
    pytest.param("2026-01-10T08:00:00.\u0661\u0662\u0663Z", id="arabic-indic-fraction"),
])
def test_timestamp_with_non_ascii_digits_refused(sent: str) -> None:
    # RFC 3339 (and the contract) allow ASCII digits only. Python's `re` \d matches any Unicode digit and int()
    # reads them, so a parser built on \d turns these into 2026-01-10T08:00:00Z.
    result = normalize(record(started_at=sent, ended_at="2026-01-10T12:00:00Z"))
    assert isinstance(result, list), (
        f"non-ASCII digits accepted as an RFC 3339 timestamp: "
        f"{sent!r} -> {getattr(result, 'started_at', result)}")
    assert [e.field for e in result] == ["started_at"], result


def test_epoch_number_message_says_why() -> None:
    error = assert_only_error(record(started_at=1768032000), "started_at")
    assert "RFC 3339" in error.message


@pytest.mark.parametrize(("make", "field"), [
    pytest.param(lambda v: record(submitted_at=v), "submitted_at", id="submitted_at"),
    pytest.param(lambda v: record(started_at=v), "started_at", id="started_at"),
    pytest.param(lambda v: record(ended_at=v), "ended_at", id="ended_at"),
    pytest.param(lambda v: running(observed_at=v), "observed_at", id="observed_at"),
])
@pytest.mark.parametrize("value", [
    pytest.param(1768380000, id="epoch-seconds"),
    pytest.param("2026-01-14", id="date-only"),
])
def test_every_timestamp_field_refuses_numbers_and_dates(make: Any, field: str, value: Any) -> None:
    assert_only_error(make(value), field)


def test_date_only_message_names_the_field_not_the_record() -> None:
    error = assert_only_error(record(ended_at="2026-01-14"), "ended_at")
    assert "offset" in error.message or "RFC 3339" in error.message


# --- F10 and the other consistency rules -------------------------------------------------------------------------


def test_f10_ended_before_started_refused_on_ended_at() -> None:
    assert_only_error(record(started_at="2026-01-14T12:00:00Z", ended_at="2026-01-14T08:00:00Z"),
                      "ended_at", "before started_at")


def test_f10_ended_one_ms_before_started_refused() -> None:
    assert_only_error(record(started_at="2026-01-14T08:00:00.001Z", ended_at="2026-01-14T08:00:00Z"),
                      "ended_at", "before")


def test_f10_ended_equal_to_started_accepted() -> None:
    job = accepted(record(ended_at="2026-01-14T08:00:00Z", cost="0.00"))
    assert job.started_at == job.ended_at == utc(2026, 1, 14, 8)
    assert job.billed_cost == Decimal("0")


def test_f10_equal_after_ms_truncation_is_zero_length() -> None:
    # .0009 and .0001 are both cut to .000: the run is zero-length, not negative.
    job = accepted(record(started_at="2026-01-14T08:00:00.0009Z", ended_at="2026-01-14T08:00:00.0001Z"))
    assert job.started_at == job.ended_at == utc(2026, 1, 14, 8)


def test_f10_running_with_ended_at_refused() -> None:
    assert_only_error(record(status="RUNNING"), "ended_at", "running")


# (status, fields replaced in `record`, the fields the errors are on)
CONSISTENCY = [
    # queued: neither started_at nor ended_at
    pytest.param("queued", {"ended_at": DROP, "cost": DROP}, ["started_at"], id="queued-with-started"),
    pytest.param("queued", {"started_at": DROP, "cost": DROP}, ["ended_at"], id="queued-with-ended"),
    pytest.param("queued", {"cost": DROP}, ["started_at", "ended_at"], id="queued-with-both"),
    # running: started_at required, ended_at forbidden
    pytest.param("running", {"started_at": DROP, "ended_at": DROP, "cost": DROP}, ["started_at"],
                 id="running-without-started"),
    pytest.param("running", {"cost": DROP}, ["ended_at"], id="running-with-ended"),
    # succeeded / failed / preempted: both required
    *[pytest.param(status, {"started_at": DROP, "cost": DROP}, ["started_at"], id=f"{status}-without-started")
      for status in ("succeeded", "failed", "preempted")],
    *[pytest.param(status, {"ended_at": DROP}, ["ended_at"], id=f"{status}-without-ended")
      for status in ("succeeded", "failed", "preempted")],
    *[pytest.param(status, {"started_at": DROP, "ended_at": DROP, "cost": DROP}, ["started_at", "ended_at"],
                   id=f"{status}-without-either") for status in ("succeeded", "failed", "preempted")],
    # cancelled: ended_at required only if it started
    pytest.param("cancelled", {"ended_at": DROP}, ["ended_at"], id="cancelled-started-not-ended"),
    # order: started_at >= submitted_at, ended_at >= started_at
    pytest.param("succeeded", {"submitted_at": "2026-01-14T08:00:00.001Z"}, ["started_at"],
                 id="started-before-submitted"),
    pytest.param("succeeded", {"ended_at": "2026-01-14T07:59:59.999Z"}, ["ended_at"], id="ended-before-started"),
    pytest.param("cancelled", {"started_at": DROP, "cost": DROP, "submitted_at": "2026-01-14T13:00:00Z"},
                 ["ended_at"], id="cancelled-ended-before-submitted"),
    # a billed cost needs started_at
    pytest.param("cancelled", {"started_at": DROP, "ended_at": DROP}, ["cost"], id="cost-without-started"),
    pytest.param("queued", {"started_at": DROP, "ended_at": DROP}, ["cost"], id="queued-with-cost"),
]


@pytest.mark.parametrize(("status", "fields", "error_fields"), CONSISTENCY)
def test_consistency_rule(status: str, fields: dict[str, Any], error_fields: list[str]) -> None:
    errors = refused(record(status=status, **fields))
    assert sorted(e.field or "" for e in errors) == sorted(error_fields), errors


@pytest.mark.parametrize(("status", "fields"), [
    pytest.param("cancelled", {"started_at": DROP, "ended_at": DROP, "cost": DROP}, id="cancelled-never-started"),
    pytest.param("cancelled", {"started_at": DROP, "cost": DROP}, id="cancelled-ended-without-start"),
    pytest.param("cancelled", {}, id="cancelled-started-and-ended"),
    pytest.param("queued", {"started_at": DROP, "ended_at": DROP, "cost": DROP}, id="queued-bare"),
    pytest.param("succeeded", {"submitted_at": "2026-01-14T08:00:00Z"}, id="submitted-equals-started"),
    pytest.param("failed", {"cost": DROP}, id="failed-without-cost"),
])
def test_consistent_records_accepted(status: str, fields: dict[str, Any]) -> None:
    accepted(record(status=status, **fields))


def test_error_messages_name_what_is_wrong() -> None:
    assert_only_error(record(submitted_at="2026-01-14T09:00:00Z"), "started_at", "submitted_at")
    assert_only_error(record(status="cancelled", started_at=DROP, ended_at=DROP), "cost", "started_at")
    assert_only_error(record(status="RUNNING", started_at=DROP, ended_at=DROP, cost=DROP), "started_at",
                      "started_at")


def test_several_errors_of_one_record_all_reported() -> None:
    errors = refused(record(gpu_count="-1", currency="EUR", zone="eu"))
    assert sorted(e.field or "" for e in errors) == ["currency", "gpu_count", "zone"]


# --- the future (relative to the `now` passed in; 10 minutes of clock skew allowed) --------------------------------


@pytest.mark.parametrize(("raw", "field"), [
    pytest.param(record(status="queued", started_at=DROP, ended_at=DROP, cost=DROP,
                        submitted_at="2026-02-01T12:10:00.001Z"), "submitted_at", id="submitted_at"),
    pytest.param(running(started_at="2026-02-01T12:10:00.001Z"), "started_at", id="started_at"),
    pytest.param(record(started_at="2026-02-01T11:00:00Z", ended_at="2026-02-01T12:10:00.001Z"), "ended_at",
                 id="ended_at"),
    pytest.param(running(started_at="2026-02-01T11:00:00Z", observed_at="2026-02-01T12:10:00.001Z"),
                 "observed_at", id="observed_at"),
    pytest.param(record(started_at="2026-02-01T11:00:00Z", ended_at="2027-02-01T11:00:00Z"), "ended_at",
                 id="a-year-ahead"),
])
def test_timestamp_in_the_future_refused(raw: dict[str, Any], field: str) -> None:
    assert_only_error(raw, field, "in the future")


def test_started_and_ended_both_in_the_future_both_reported() -> None:
    errors = refused(record(started_at="2026-02-01T13:00:00Z", ended_at="2026-02-01T14:00:00Z"))
    assert sorted(e.field or "" for e in errors) == ["ended_at", "started_at"]
    assert all("future" in e.message for e in errors)


def test_exactly_ten_minutes_ahead_accepted() -> None:
    job = accepted(record(started_at="2026-02-01T11:00:00Z", ended_at="2026-02-01T12:10:00Z"))
    assert job.ended_at == utc(2026, 2, 1, 12, 10)
    job = accepted(running(started_at="2026-02-01T12:10:00Z", observed_at="2026-02-01T12:10:00Z"))
    assert job.observed_at == utc(2026, 2, 1, 12, 10)


def test_the_future_is_relative_to_now_not_the_wall_clock() -> None:
    # ended_at 12:00:00Z: now = 11:50:00 puts it exactly 10 minutes ahead (allowed), 1 ms earlier does not.
    raw = record(started_at="2026-01-14T08:00:00Z", ended_at="2026-01-14T12:00:00Z")
    accepted(raw, now=utc(2026, 1, 14, 11, 50))
    assert_only_error(raw, "ended_at", "future", now=utc(2026, 1, 14, 11, 49, 59, 999_000))


# --- observed_at -------------------------------------------------------------------------------------------------


def test_running_observed_at_defaults_to_now() -> None:
    assert accepted(running()).observed_at == NOW


def test_running_observed_at_default_is_cut_to_the_ms() -> None:
    now = datetime(2026, 2, 1, 12, 0, 0, 123_456, tzinfo=UTC)
    assert accepted(running(), now=now).observed_at == datetime(2026, 2, 1, 12, 0, 0, 123_000, tzinfo=UTC)


def test_running_observed_at_given_is_kept_in_utc() -> None:
    job = accepted(running(observed_at="2026-01-20T15:30:00.250+05:30"))
    assert job.observed_at == utc(2026, 1, 20, 10, 0, 0, 250_000)
    assert job.run_end == job.observed_at


def test_running_observed_at_equal_to_started_accepted() -> None:
    assert accepted(running(observed_at="2026-01-14T08:00:00Z")).observed_at == utc(2026, 1, 14, 8)


def test_running_observed_at_before_started_refused() -> None:
    assert_only_error(running(observed_at="2026-01-14T07:59:59.999Z"), "observed_at", "before started_at")


@pytest.mark.parametrize(("raw",), [
    pytest.param(record(observed_at="2026-01-14T10:00:00Z"), id="succeeded"),
    pytest.param(record(status="failed", observed_at="2026-01-14T10:00:00Z"), id="failed"),
    pytest.param(record(status="cancelled", observed_at="2026-01-14T10:00:00Z"), id="cancelled"),
    pytest.param(record(status="preempted", observed_at="2026-01-14T10:00:00Z"), id="preempted"),
    pytest.param(record(status="queued", started_at=DROP, ended_at=DROP, cost=DROP,
                        observed_at="2026-01-14T10:00:00Z"), id="queued"),
    # Ignored means ignored: not checked against started_at or the clock either.
    pytest.param(record(observed_at="2026-01-14T07:00:00Z"), id="before-started"),
    pytest.param(record(observed_at="2027-01-01T00:00:00Z"), id="in-the-future"),
])
def test_observed_at_ignored_for_other_statuses(raw: dict[str, Any]) -> None:
    job = accepted(raw)
    assert job.observed_at is None


def test_finished_job_run_end_is_ended_at() -> None:
    assert accepted(record()).run_end == utc(2026, 1, 14, 12)


# --- the 366-day limit -------------------------------------------------------------------------------------------


def test_run_of_exactly_366_days_accepted() -> None:
    # 2025 is not a leap year: 2025-01-01 + 365 days = 2026-01-01, + 1 day = 2026-01-02.
    job = accepted(record(started_at="2025-01-01T00:00:00Z", ended_at="2026-01-02T00:00:00Z"))
    assert job.ended_at == utc(2026, 1, 2)


def test_run_one_ms_over_366_days_refused_on_ended_at() -> None:
    assert_only_error(record(started_at="2025-01-01T00:00:00Z", ended_at="2026-01-02T00:00:00.001Z"),
                      "ended_at", "366")


def test_running_for_exactly_366_days_at_now_accepted() -> None:
    # NOW is 2026-02-01T12:00Z; 366 days earlier is 2025-01-31T12:00Z (2025-01-31 → 2026-01-31 is 365 days).
    assert accepted(running(started_at="2025-01-31T12:00:00Z")).observed_at == NOW


def test_running_for_over_366_days_at_now_refused_on_observed_at() -> None:
    assert_only_error(running(started_at="2025-01-31T11:59:59.999Z"), "observed_at", "366")


def test_running_with_observed_at_over_366_days_refused_on_observed_at() -> None:
    assert_only_error(running(started_at="2024-06-01T00:00:00Z", observed_at="2025-06-03T00:00:00Z"),
                      "observed_at", "366")


# --- gpu_count ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("fields", "gpu_type", "gpu_milli"), [
    pytest.param({"gpu_count": DROP}, "H100", 1000, id="default-1-with-gpu-type"),
    pytest.param({"gpu_count": None}, "H100", 1000, id="null-is-default"),
    pytest.param({"gpu_count": DROP, "gpu_type": DROP}, None, 0, id="default-0-without-gpu-type"),
    pytest.param({"gpu_count": DROP, "gpu_type": "   "}, None, 0, id="blank-gpu-type-is-none"),
    pytest.param({"gpu_count": 0}, "H100", 0, id="explicit-zero"),
    pytest.param({"gpu_count": 8}, "H100", 8000, id="int"),
    pytest.param({"gpu_count": Decimal("0.5")}, "H100", 500, id="half-json-number"),
    pytest.param({"gpu_count": "0.5"}, "H100", 500, id="half-string"),
    pytest.param({"gpu_count": "0.125"}, "H100", 125, id="three-places"),
    pytest.param({"gpu_count": "0.001"}, "H100", 1, id="one-thousandth"),
    pytest.param({"gpu_count": " 2 "}, "H100", 2000, id="string-trimmed"),
    pytest.param({"gpu_count": "100000"}, "H100", 100_000_000, id="maximum"),
    pytest.param({"gpu_count": 4, "gpu_type": DROP}, None, 4000, id="count-without-type"),
])
def test_gpu_count(fields: dict[str, Any], gpu_type: str | None, gpu_milli: int) -> None:
    job = accepted(record(**fields))
    assert (job.gpu_type, job.gpu_milli) == (gpu_type, gpu_milli)


@pytest.mark.parametrize(("value", "word"), [
    pytest.param("1.2345", "3 decimal places", id="four-places-string"),
    pytest.param(Decimal("0.0005"), "3 decimal places", id="four-places-number"),
    pytest.param(-1, "0 or more", id="negative-int"),
    pytest.param("-0.5", "0 or more", id="negative-string"),
    pytest.param("100000.001", "100000", id="over-maximum"),
    pytest.param(True, None, id="bool-true"),
    pytest.param(False, None, id="bool-false"),
    pytest.param("eight", None, id="word"),
    pytest.param("NaN", "finite", id="nan"),
    pytest.param("Infinity", "finite", id="infinity"),
    pytest.param([8], None, id="list"),
])
def test_gpu_count_refused(value: Any, word: str | None) -> None:
    assert_only_error(record(gpu_count=value), "gpu_count", word)


# --- cost (F15: exact decimals) and currency ---------------------------------------------------------------------


@pytest.mark.parametrize(("value", "stored"), [
    pytest.param(Decimal("48.717983"), Decimal("48.717983"), id="json-number-as-decimal"),
    pytest.param("48.717983", Decimal("48.717983"), id="string"),
    pytest.param(" 48.717983 ", Decimal("48.717983"), id="string-trimmed"),
    pytest.param(64, Decimal(64), id="int"),
    pytest.param("0", Decimal(0), id="zero"),
    pytest.param("0.000001", Decimal("0.000001"), id="one-micro-usd"),
    pytest.param("999999999999.999999", Decimal("999999999999.999999"), id="largest"),
    pytest.param("1.1000000", Decimal("1.1"), id="trailing-zeros-beyond-6-places"),
])
def test_cost_accepted_exactly(value: Any, stored: Decimal) -> None:
    job = accepted(record(cost=value))
    assert isinstance(job.billed_cost, Decimal)
    assert job.billed_cost == stored


def test_cost_from_the_wire_json_number_is_exact() -> None:
    # F15: 48.717983 as a JSON number must not pass through a float (48.71798300000000...).
    raw = decode_json(b'{"job_id": "dec-1", "team": "vision", "status": "COMPLETED", "gpu_type": "H100", '
                      b'"gpu_count": 8, "started_at": "2026-01-14T08:00:00Z", '
                      b'"ended_at": "2026-01-14T12:00:00Z", "cost": 48.717983}')
    job = accepted(raw)
    assert job.billed_cost == Decimal("48.717983")
    assert str(job.billed_cost) == "48.717983"


def test_gpu_count_from_the_wire_json_number_is_exact() -> None:
    raw = decode_json(b'{"job_id": "g-1", "team": "vision", "status": "queued", "gpu_type": "H100", '
                      b'"gpu_count": 0.1}')
    assert accepted(raw).gpu_milli == 100


@pytest.mark.parametrize(("value", "word"), [
    pytest.param("1.1234567", "6 decimal places", id="seven-places-string"),
    pytest.param(Decimal("48.7179831"), "6 decimal places", id="seven-places-number"),
    pytest.param("-0.01", "0 or more", id="negative"),
    pytest.param(Decimal("-64"), "0 or more", id="negative-number"),
    pytest.param("NaN", "finite", id="nan"),
    pytest.param("sNaN", "finite", id="signalling-nan"),
    pytest.param("Infinity", "finite", id="infinity"),
    pytest.param("-Infinity", "finite", id="minus-infinity"),
    pytest.param("inf", "finite", id="inf"),
    pytest.param("1e12", "less than", id="one-trillion"),
    pytest.param("sixty-four", None, id="word"),
    pytest.param("$64.00", None, id="currency-sign"),
    pytest.param(True, None, id="bool"),
    pytest.param({"amount": "64"}, None, id="object"),
])
def test_cost_refused(value: Any, word: str | None) -> None:
    assert_only_error(record(cost=value), "cost", word)


@pytest.mark.parametrize("value", [
    pytest.param("USD", id="upper"), pytest.param("usd", id="lower"), pytest.param(" Usd ", id="mixed-trimmed"),
    pytest.param(None, id="null"), pytest.param(DROP, id="absent"),
])
def test_currency_usd_accepted(value: Any) -> None:
    assert accepted(record(currency=value)).billed_cost == Decimal("64.00")


@pytest.mark.parametrize("value", [
    pytest.param("EUR", id="eur"), pytest.param("", id="empty"), pytest.param("US$", id="symbol"),
    pytest.param("USDT", id="usdt"), pytest.param(840, id="iso-number"),
])
def test_currency_other_refused(value: Any) -> None:
    assert_only_error(record(currency=value), "currency", "USD")


# --- labels ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("labels", "stored"), [
    pytest.param({" team ": "nlp", "project": "sft"}, {"team": "nlp", "project": "sft"}, id="keys-trimmed"),
    pytest.param({"note": ""}, {"note": ""}, id="empty-value"),
    pytest.param({"k" * 255: "v" * 1024}, {"k" * 255: "v" * 1024}, id="longest-key-and-value"),
    pytest.param({f"k{i:02}": "v" for i in range(50)}, {f"k{i:02}": "v" for i in range(50)}, id="fifty"),
    pytest.param(None, {}, id="null"),
    pytest.param({}, {}, id="empty"),
])
def test_labels_accepted(labels: Any, stored: dict[str, str]) -> None:
    assert accepted(record(labels=labels)).labels == stored


@pytest.mark.parametrize(("labels", "word"), [
    pytest.param({"gpus": 8}, "gpus", id="int-value"),
    pytest.param({"owner": None}, "owner", id="null-value"),
    pytest.param({"tags": ["a"]}, "tags", id="list-value"),
    pytest.param({f"k{i:02}": "v" for i in range(51)}, "50", id="fifty-one"),
    pytest.param({"": "x"}, "empty", id="empty-key"),
    pytest.param({"   ": "x"}, "empty", id="blank-key"),
    pytest.param({"k" * 256: "v"}, "255", id="key-too-long"),
    pytest.param({"note": "v" * 1025}, "1,024", id="value-too-long"),
    pytest.param({"a\x00b": "v"}, "control", id="nul-in-key"),
    pytest.param({"note": "a\x00b"}, "control", id="nul-in-value"),
    pytest.param({"note": "a\x1bb"}, "control", id="escape-in-value"),
    pytest.param({"note": "a\ud800b"}, "surrogate", id="surrogate-in-value"),
    pytest.param({"a\ud800": "v"}, "surrogate", id="surrogate-in-key"),
    pytest.param(["team", "nlp"], "object", id="list"),
    pytest.param("team=nlp", "object", id="string"),
])
def test_labels_refused(labels: Any, word: str) -> None:
    # A label error is on `labels`; the message names the label.
    assert_only_error(record(labels=labels), "labels", word)


# --- strings -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("field", "value", "attribute", "stored"), [
    pytest.param("job_id", "  slurm-a:12345_7  ", "job_id", "slurm-a:12345_7", id="job_id-trimmed"),
    pytest.param("job_id", "cluster/a/123", "job_id", "cluster/a/123", id="job_id-with-slashes"),
    pytest.param("job_id", "j" * 255, "job_id", "j" * 255, id="job_id-255"),
    pytest.param("job_id", "  " + "j" * 255 + "  ", "job_id", "j" * 255, id="job_id-255-after-trim"),
    pytest.param("team", " NLP Research ", "team", "NLP Research", id="team-trimmed-case-kept"),
    pytest.param("team", "t" * 255, "team", "t" * 255, id="team-255"),
    pytest.param("model_name", "  llama-3-8b  ", "model_name", "llama-3-8b", id="model-trimmed"),
    pytest.param("model_name", "   ", "model_name", None, id="model-blank-is-null"),
    pytest.param("model_name", "", "model_name", None, id="model-empty-is-null"),
    pytest.param("model_name", None, "model_name", None, id="model-null"),
    pytest.param("model_name", "m" * 255, "model_name", "m" * 255, id="model-255"),
    pytest.param("user", " ada ", "user_name", "ada", id="user-trimmed"),
    pytest.param("user", "", "user_name", None, id="user-empty-is-null"),
    pytest.param("user", "u" * 255, "user_name", "u" * 255, id="user-255"),
    pytest.param("gpu_type", "G" * 64, "gpu_type", "G" * 64, id="gpu_type-64"),
    pytest.param("gpu_type", "\u00df" * 64, "gpu_type", "\u00df" * 64, id="gpu_type-not-lengthened-by-upper"),
    pytest.param("provider", "p" * 64, "provider", "p" * 64, id="provider-64"),
    pytest.param("provider", "", "provider", None, id="provider-empty-is-null"),
    pytest.param("team", "Équipe Vision", "team", "Équipe Vision", id="non-ascii-text"),
])
def test_strings_trimmed_and_kept(field: str, value: Any, attribute: str, stored: str | None) -> None:
    assert getattr(accepted(record(**{field: value})), attribute) == stored


@pytest.mark.parametrize(("field", "value", "word"), [
    pytest.param("job_id", DROP, "required", id="job_id-missing"),
    pytest.param("job_id", "", "empty", id="job_id-empty"),
    pytest.param("job_id", "   ", "empty", id="job_id-blank"),
    pytest.param("job_id", None, None, id="job_id-null"),
    pytest.param("team", DROP, "required", id="team-missing"),
    pytest.param("team", "", "empty", id="team-empty"),
    pytest.param("team", " \t ", "empty", id="team-blank"),
    pytest.param("job_id", "j" * 256, "255", id="job_id-256"),
    pytest.param("team", "t" * 256, "255", id="team-256"),
    pytest.param("model_name", "m" * 256, "255", id="model-256"),
    pytest.param("user", "u" * 256, "255", id="user-256"),
    pytest.param("gpu_type", "G" * 65, "64", id="gpu_type-65"),
    pytest.param("provider", "p" * 65, "64", id="provider-65"),
    pytest.param("job_id", "slurm\x001001", "control", id="job_id-nul"),
    pytest.param("job_id", "slurm\n1001", "control", id="job_id-newline"),
    pytest.param("team", "vi\nsion", "control", id="team-newline"),
    pytest.param("model_name", "res\x00net", "control", id="model-nul"),
    pytest.param("model_name", "res\tnet", "control", id="model-tab"),
    pytest.param("user", "a\rda", "control", id="user-cr"),
    pytest.param("gpu_type", "H1\x0000", "control", id="gpu_type-nul"),
    pytest.param("provider", "aws\x1b[0m!", "control", id="provider-escape"),
    pytest.param("job_id", 1001, "string", id="job_id-int"),
    pytest.param("team", ["vision"], "string", id="team-list"),
    pytest.param("model_name", 50, "string", id="model-int"),
])
def test_strings_refused(field: str, value: Any, word: str | None) -> None:
    assert_only_error(record(**{field: value}), field, word)


# --- unknown fields ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [
    pytest.param("gpus", id="gpus"), pytest.param("zone", id="zone"), pytest.param("Cost", id="case-differs"),
    pytest.param("billed_cost", id="output-field"), pytest.param("id", id="id"),
])
def test_unknown_field_refused_by_name(name: str) -> None:
    assert_only_error(record(**{name: "x"}), name)


def test_two_unknown_fields_two_errors() -> None:
    errors = refused(record(gpus=8, zone="eu"))
    assert sorted(e.field or "" for e in errors) == ["gpus", "zone"]


# --- aliases -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("gpu_type", "provider", "canonical_gpu", "canonical_provider"), [
    pytest.param("A100-SXM4-80GB", "Amazon", "A100-80GB", "aws", id="alias-keys"),
    pytest.param(" a100 80gb ", " amazon web services ", "A100-80GB", "aws", id="aliases-trimmed-case-folded"),
    pytest.param("a100-sxm4-80gb", "AMAZON", "A100-80GB", "aws", id="aliases-case-folded"),
    pytest.param("a100-80gb", "AWS", "A100-80GB", "aws", id="canonical-names-case-folded"),
    pytest.param("h100", "GCP", "H100", "gcp", id="other-canonical-names"),
    pytest.param("  My-GPU 9000  ", "  On-Prem Slurm  ", "MY-GPU 9000", "on-prem slurm", id="unknown-trimmed-cased"),
    pytest.param("b200", "CoreWeave", "B200", "coreweave", id="unknown-case-variants-are-one"),
    pytest.param("A100", "testcloud", "A100", "testcloud", id="prefix-is-not-an-alias"),
])
def test_aliases(gpu_type: str, provider: str, canonical_gpu: str, canonical_provider: str) -> None:
    job = accepted(record(gpu_type=gpu_type, provider=provider))
    assert (job.gpu_type, job.provider) == (canonical_gpu, canonical_provider)


# --- not a record at all -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [
    pytest.param([], id="list"), pytest.param([record()], id="list-of-a-record"), pytest.param("slurm-1001", id="str"),
    pytest.param(None, id="null"), pytest.param(42, id="int"), pytest.param(True, id="bool"),
])
def test_non_object_record_is_one_error_without_field(raw: Any) -> None:
    assert_only_error(raw, None, "object")


@pytest.mark.parametrize("sent", ["1_000", "\u0666\u0664", "0x10"], ids=["underscore", "arabic-indic", "hex"])
def test_decimal_strings_are_plain_ascii_decimals(sent: str) -> None:
    # Decimal() alone reads "1_000" and Arabic-Indic digits; a cost or GPU count is a plain decimal or refused.
    assert_only_error(record(cost=sent), "cost")
    assert_only_error(record(gpu_count=sent), "gpu_count")


def test_label_keys_equal_once_trimmed_are_refused() -> None:
    assert_only_error(record(labels={"a": "1", " a": "2"}), "labels")


def test_blank_optional_fields_mean_not_given() -> None:
    job = normalize(record(submitted_at="  ", cost="", gpu_count=" ", model_name=" "))
    assert not isinstance(job, list), job
    # A blank gpu_count takes the default: 1 GPU, as a gpu_type is given.
    assert (job.submitted_at, job.billed_cost, job.gpu_milli, job.model_name) == (None, None, 1000, None)


@pytest.mark.parametrize(("field", "value"), [
    pytest.param("team", "NLP Research\u200b", id="zero-width-space-in-team"),
    pytest.param("team", "\u200b", id="team-only-invisible"),
    pytest.param("job_id", "job\u202e1", id="bidi-override-in-id"),
    pytest.param("job_id", "job\u20281", id="line-separator-in-id"),
    pytest.param("job_id", "sur-\ud800", id="lone-surrogate-in-id"),
    pytest.param("model_name", "m\udfff", id="lone-surrogate-in-model"),
    pytest.param("user", "\ue000ada", id="private-use"),
])
def test_invisible_and_unencodable_characters_refused_in_names(field: str, value: str) -> None:
    assert_only_error(record(**{field: value}), field)


def test_names_are_nfc_normalised_but_ids_kept_as_sent() -> None:
    job = normalize(record(job_id="Cafe\u0301-1", team="Cafe\u0301", model_name="Cafe\u0301"))
    assert not isinstance(job, list), job
    assert (job.team, job.model_name) == ("Caf\u00e9", "Caf\u00e9")
    assert job.job_id == "Cafe\u0301-1"


def test_team_name_too_long_once_case_folded() -> None:
    # "ß" case-folds to "ss": 255 of them make a 510-character key, over the 255 the database keeps.
    assert_only_error(record(team="\u00df" * 255), "team", "case-folded")
    assert not isinstance(normalize(record(team="\u00df" * 127)), list)


@pytest.mark.parametrize("sent", ["0001-01-01T00:00:00Z", "1969-12-31T23:59:59.999Z"])
def test_timestamps_before_1970_refused(sent: str) -> None:
    # asyncpg would send 0001-01-01 (Go's zero time.Time) to PostgreSQL as -infinity.
    assert_only_error(record(submitted_at=sent), "submitted_at", "1970")


def test_number_text_too_long_says_so() -> None:
    assert_only_error(record(gpu_count="1" * 65), "gpu_count", "too long")


def test_long_running_job_names_the_default_observed_at() -> None:
    error = assert_only_error(running(started_at="2024-01-01T00:00:00Z"), "observed_at", "366")
    assert "defaults to the time of ingest" in error.message


# --- the wildcard `*` (any provider / GPU type in rate cards, the default row of the energy coefficients) ---------


@pytest.mark.parametrize("field", ["provider", "gpu_type", "region"])
@pytest.mark.parametrize("value", ["*", " * "])
def test_the_wildcard_is_not_a_name(field: str, value: str) -> None:
    assert_only_error(record(**{field: value}), field, "'*' means any")


@pytest.mark.parametrize(("field", "value"), [("provider", "**"), ("provider", "aws*"), ("gpu_type", "A100*"),
                                              ("region", "eu-*")])
def test_a_star_inside_a_name_is_only_a_character(field: str, value: str) -> None:
    job = accepted(record(**{field: value}))
    assert getattr(job, field) == value
