"""`GET /jobs` and `GET /jobs/{job_id}`: the job as the API shows it, the filters, and the errors.

Covered: every JobRead field of an ingested job, with GPU-hours, cost and per-day snapshots worked out by hand (or
by tests/ingestion/reference.py) from a price the test sets itself; billed, estimated and unpriced jobs side by
side; timestamps sent with an offset read back in UTC with `Z` (F07/F08), and filters given with an offset
compared as instants; each filter alone and combined, checked as the exact set of job ids (team by id and by
name in any case and spacing, status synonyms and repeats, provider and GPU aliases, the started window's
inclusive and exclusive ends, never-started jobs left out of it); 422 problems naming the parameter for bad
values and unknown parameters; ids with `/`, `:` and characters that need escaping read back by URL;
`include=snapshots` summing exactly to the cost; 404 for a missing id.
"""

from __future__ import annotations

import time
import unicodedata
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from tests.api.problems import assert_problem
from tests.ingestion.conftest import TEST_PROVIDER, add_price, ingest_ok, job
from tests.ingestion.reference import reference_cost
from tests.jobs.conftest import JOBS, get_job, ids, list_jobs, list_ok, team_id
from tests.jobs.snapshots import cost_days

JOB_READ_FIELDS = {
    "id", "job_id", "team", "status", "model_name", "gpu_type", "gpu_count", "provider", "user", "submitted_at",
    "started_at", "ended_at", "observed_at", "gpu_hours", "cost", "billed_cost", "cost_source", "currency",
    "labels", "energy_kwh", "gpu_utilization", "region", "created_at", "updated_at", "energy", "snapshots",
}


def usd(micros: int) -> str:
    """Integer micro-USD as the API's 6-place decimal string."""
    return f"{Decimal(micros).scaleb(-6):.6f}"


def assert_utc_z(value: str) -> datetime:
    """`value` is an RFC 3339 instant in UTC spelt with `Z`; returns it parsed."""
    assert value.endswith("Z"), value
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() is not None and parsed.utcoffset().total_seconds() == 0, value
    return parsed


def validation_errors(response: Any) -> list[dict[str, Any]]:
    body = assert_problem(response, 422, "validation-error")
    assert body["errors"], body
    for error in body["errors"]:
        assert set(error) == {"loc", "msg", "type"}, error
    return body["errors"]


# --- the job as the API shows it ---

async def test_an_estimated_job_over_midnight_shows_every_field_and_two_equal_days(
        client, admin_headers, sessionmaker) -> None:
    await add_price(sessionmaker, "H100", "2.345678")
    await ingest_ok(client, admin_headers, [job(
        "est-1", cost=None, user="ada", submitted_at="2026-01-03T22:55:00+01:00",
        started_at="2026-01-03T22:00:00Z", ended_at="2026-01-04T02:00:00Z", labels={"partition": "gpu-h100"})])

    body = await list_ok(client, admin_headers)
    assert body["total"] == 1 and body["skip"] == 0 and body["limit"] == 50 and body["has_more"] is False
    [listed] = body["jobs"]
    assert set(listed) == JOB_READ_FIELDS
    uuid.UUID(listed["id"])
    assert listed["team"] == {"id": await team_id(sessionmaker, "vision"), "name": "vision"}
    # 8 GPUs × 4 h = 32 GPU-hours; × 2.345678 USD = 75.061696 USD, no rounding needed.
    expected = {
        "job_id": "est-1", "status": "succeeded", "model_name": "resnet50-ft", "gpu_type": "H100",
        "gpu_count": "8", "provider": TEST_PROVIDER, "user": "ada",
        "submitted_at": "2026-01-03T21:55:00Z", "started_at": "2026-01-03T22:00:00Z",
        "ended_at": "2026-01-04T02:00:00Z", "observed_at": None,
        "gpu_hours": "32.000000", "cost": "75.061696", "billed_cost": None, "cost_source": "estimated",
        "currency": "USD", "labels": {"partition": "gpu-h100"}, "energy_kwh": None, "gpu_utilization": None,
        "region": None, "snapshots": None,
    }
    assert {k: listed[k] for k in expected} == expected
    created, updated = assert_utc_z(listed["created_at"]), assert_utc_z(listed["updated_at"])
    assert created <= updated

    detail = await get_job(client, admin_headers, "est-1", {"include": "snapshots"})
    assert detail.status_code == 200, detail.text
    # Two hours on each UTC day: half the GPU-hours and half the cost each.
    shown = detail.json()
    assert {**shown, "snapshots": None} == listed
    assert cost_days(shown["snapshots"]) == [
        {"day": "2026-01-03", "gpu_hours": "16.000000", "cost": "37.530848"},
        {"day": "2026-01-04", "gpu_hours": "16.000000", "cost": "37.530848"},
    ]


async def test_an_uneven_split_matches_the_reference_model_and_the_days_sum_exactly_to_the_cost(
        client, admin_headers, sessionmaker) -> None:
    await add_price(sessionmaker, "H100", "2.345677")
    start, end = datetime(2026, 1, 3, 21, 20, 0, 7000, tzinfo=UTC), datetime(2026, 1, 5, 0, 10, 0, tzinfo=UTC)
    await ingest_ok(client, admin_headers, [job(
        "uneven", cost=None, gpu_count="0.375", started_at="2026-01-03T21:20:00.007Z",
        ended_at="2026-01-05T00:10:00Z")])
    ref = reference_cost(start, end, Decimal("0.375"), None, [(datetime(2020, 1, 1, tzinfo=UTC),
                                                               Decimal("2.345677"))])
    assert ref.source == "estimated" and ref.cost_micros is not None

    response = await get_job(client, admin_headers, "uneven", {"include": "snapshots"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["gpu_count"] == "0.375"
    assert body["cost"] == usd(ref.cost_micros) and body["cost_source"] == "estimated"
    assert cost_days(body["snapshots"]) == [
        {"day": d.day.isoformat(), "gpu_hours": f"{Decimal(d.gpu_us) / Decimal(3_600_000_000):.6f}",
         "cost": usd(d.cost_micros)} for d in ref.days]
    assert [s["day"] for s in body["snapshots"]] == ["2026-01-03", "2026-01-04", "2026-01-05"]
    assert sum(Decimal(s["cost"]) for s in body["snapshots"]) == Decimal(body["cost"])


async def test_billed_estimated_and_unpriced_jobs_each_say_where_their_cost_comes_from(
        client, admin_headers, sessionmaker) -> None:
    await add_price(sessionmaker, "H100", "3.000000")
    await ingest_ok(client, admin_headers, [
        job("src-billed", cost="64.00"),
        job("src-estimated", cost=None, gpu_count="0.5"),
        job("src-unpriced", cost=None, gpu_type="B200", gpu_count=2),
    ])
    body = await list_ok(client, admin_headers)
    got = {j["job_id"]: (j["gpu_count"], j["gpu_hours"], j["cost"], j["billed_cost"], j["cost_source"])
           for j in body["jobs"]}
    # All run 08:00 → 12:00 (4 h). Billed: the record's 64 USD. Estimated: 0.5 × 4 = 2 GPU-h × 3 USD = 6 USD.
    # Unpriced: 2 × 4 = 8 GPU-h are counted, no cost is invented.
    assert got == {
        "src-billed": ("8", "32.000000", "64.000000", "64.000000", "billed"),
        "src-estimated": ("0.5", "2.000000", "6.000000", None, "estimated"),
        "src-unpriced": ("2", "8.000000", None, None, "unpriced"),
    }

    response = await get_job(client, admin_headers, "src-unpriced", {"include": "snapshots"})
    assert response.status_code == 200, response.text
    assert cost_days(response.json()["snapshots"]) == [{"day": "2026-01-14", "gpu_hours": "8.000000", "cost": None}]


async def test_timestamps_sent_with_offsets_come_back_in_utc_with_z(client, admin_headers) -> None:
    await ingest_ok(client, admin_headers, [
        job("tz-plus", submitted_at="2026-01-10T07:30:00+01:00", started_at="2026-01-10T08:00:00+01:00",
            ended_at="2026-01-10T10:00:00.250+01:00"),
        # F08: the offset must be applied, not dropped (23:30-05:00 is 04:30 UTC the next day).
        job("tz-minus", started_at="2026-01-10T23:30:00-05:00", ended_at="2026-01-11T01:30:00-05:00",
            cost="16.00"),
        job("tz-running", status="RUNNING", started_at="2026-01-10T08:00:00+05:30", ended_at=None, cost=None,
            gpu_type="B200", gpu_count=1, observed_at="2026-01-10T09:30:00+05:30"),
    ])
    body = await list_ok(client, admin_headers)
    got = {j["job_id"]: (j["submitted_at"], j["started_at"], j["ended_at"], j["observed_at"], j["gpu_hours"])
           for j in body["jobs"]}
    assert got == {
        "tz-plus": ("2026-01-10T06:30:00Z", "2026-01-10T07:00:00Z", "2026-01-10T09:00:00.250000Z", None,
                    "16.000556"),  # 8 GPUs × (2 h + 0.25 s) = 16 GPU-h + 2 GPU-s = 16.0005555… GPU-h
        "tz-minus": (None, "2026-01-11T04:30:00Z", "2026-01-11T06:30:00Z", None, "16.000000"),
        "tz-running": (None, "2026-01-10T02:30:00Z", None, "2026-01-10T04:00:00Z", "1.500000"),
    }

    response = await get_job(client, admin_headers, "tz-minus", {"include": "snapshots"})
    assert cost_days(response.json()["snapshots"]) == [
        {"day": "2026-01-11", "gpu_hours": "16.000000", "cost": "16.000000"}]

    # The same instant spelt with another offset selects the same jobs, inclusive at the start.
    for after in ("2026-01-10T07:00:00Z", "2026-01-10T08:00:00+01:00", "2026-01-10T02:00:00-05:00"):
        window = await list_ok(client, admin_headers, {"started_after": after})
        assert sorted(ids(window)) == ["tz-minus", "tz-plus"], after
    before = await list_ok(client, admin_headers, {"started_before": "2026-01-10T08:00:00+01:00"})
    assert ids(before) == ["tz-running"]


@pytest.fixture
def chicago_process_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """F07: the API process runs with TZ=America/Chicago (local time 6 h behind UTC in January)."""
    monkeypatch.setenv("TZ", "America/Chicago")
    time.tzset()
    try:
        yield
    finally:
        monkeypatch.undo()
        time.tzset()


async def test_the_process_time_zone_shifts_nothing(client, admin_headers, chicago_process_zone) -> None:
    assert time.localtime(0).tm_hour == 18  # the zone really is in effect: 1970-01-01T00:00Z is 18:00 in Chicago
    await ingest_ok(client, admin_headers, [
        job("tz-a", started_at="2026-01-10T08:00:00+02:00", ended_at="2026-01-10T10:00:00+02:00")])
    body = await list_ok(client, admin_headers, {"started_after": "2026-01-10T06:00:00Z",
                                                 "started_before": "2026-01-10T06:00:00.001Z"})
    assert ids(body) == ["tz-a"]
    assert (body["jobs"][0]["started_at"], body["jobs"][0]["ended_at"]) == (
        "2026-01-10T06:00:00Z", "2026-01-10T08:00:00Z")
    error = validation_errors(await list_jobs(client, admin_headers, {"started_after": "2026-01-10T00:00:00"}))
    assert [e["loc"] for e in error] == [["query", "started_after"]]


@pytest.mark.pg_only
async def test_the_database_sessions_time_zone_shifts_nothing(client, admin_headers, sessionmaker) -> None:
    async with sessionmaker() as session:
        # Lasts until the test's outer transaction is rolled back; the app's sessions share its connection.
        await session.execute(text("SET LOCAL TIME ZONE 'America/Chicago'"))
        await session.commit()
    await ingest_ok(client, admin_headers, [
        job("tz-pg", started_at="2026-01-10T23:30:00-05:00", ended_at="2026-01-11T01:30:00-05:00", cost="16.00")])
    body = await list_ok(client, admin_headers, {"started_after": "2026-01-11T04:30:00Z"})
    assert ids(body) == ["tz-pg"] and body["jobs"][0]["started_at"] == "2026-01-11T04:30:00Z"
    assert (await list_ok(client, admin_headers, {"started_before": "2026-01-11T04:30:00Z"}))["total"] == 0
    response = await get_job(client, admin_headers, "tz-pg", {"include": "snapshots"})
    assert cost_days(response.json()["snapshots"]) == [
        {"day": "2026-01-11", "gpu_hours": "16.000000", "cost": "16.000000"}]


# --- filters ---

# Each job's started_at, team (as sent), status (as sent), provider and GPU (as sent), model, user.
FILTER_JOBS: dict[str, dict[str, Any]] = {
    "f-1": dict(team="nlp", status="COMPLETED", provider="aws", gpu_type="A100-80GB", model_name="llama",
                user="ada", started_at="2026-01-10T08:00:00Z", ended_at="2026-01-10T10:00:00Z"),
    "f-2": dict(team=" NLP ", status="failed", provider="AMAZON", gpu_type="a100 80gb", model_name="llama",
                user="bob", started_at="2026-01-11T00:00:00Z", ended_at="2026-01-11T01:00:00Z"),
    "f-3": dict(team="vision", status="running", provider="gcp", gpu_type="H100", model_name="resnet",
                user="ada", started_at="2026-01-12T00:00:00Z", ended_at=None, observed_at="2026-01-12T02:00:00Z"),
    "f-4": dict(team="Vision", status="PENDING", provider="Google", gpu_type="h100", model_name="resnet",
                user="cyd", started_at=None, ended_at=None, cost=None),
    "f-5": dict(team="speech", status="cancelled", provider="CoreWeave", gpu_type="H100", model_name="whisper",
                user="bob", started_at="2026-01-10T07:59:59.999Z", ended_at="2026-01-10T09:00:00Z"),
    "f-6": dict(team="speech", status="CANCELED", provider="coreweave", gpu_type="B200", model_name="whisper",
                user="José", started_at=None, ended_at=None, cost=None),
    "f-7": dict(team="vision", status="preempted", provider="aws", gpu_type="H100-SXM5-80GB", model_name="llama",
                user="ada", started_at="2026-01-12T00:00:00Z", ended_at="2026-01-12T01:00:00Z"),
    "f-8": dict(team="nlp", status="succeeded", provider="Azure", gpu_type="T4", model_name=None, user=None,
                started_at="2026-01-09T23:59:59Z", ended_at="2026-01-10T00:30:00Z"),
}
ALL = set(FILTER_JOBS)

FILTER_CASES: list[tuple[str, list[tuple[str, str]], set[str]]] = [
    ("none", [], ALL),
    ("team", [("team", "nlp")], {"f-1", "f-2", "f-8"}),
    ("team-case-and-spaces", [("team", "  NLP ")], {"f-1", "f-2", "f-8"}),
    ("team-other-case", [("team", "VISION")], {"f-3", "f-4", "f-7"}),
    ("team-unknown", [("team", "nobody")], set()),
    ("status", [("status", "succeeded")], {"f-1", "f-8"}),
    ("status-synonym", [("status", "COMPLETED")], {"f-1", "f-8"}),
    ("status-us-spelling", [("status", "canceled")], {"f-5", "f-6"}),
    ("status-repeated", [("status", "failed"), ("status", "preempted")], {"f-2", "f-7"}),
    ("status-same-twice", [("status", "queued"), ("status", "PENDING")], {"f-4"}),
    ("status-running", [("status", "running")], {"f-3"}),
    ("provider", [("provider", "aws")], {"f-1", "f-2", "f-7"}),
    ("provider-alias", [("provider", "AMAZON")], {"f-1", "f-2", "f-7"}),
    ("provider-alias-spaces", [("provider", " Amazon Web Services ")], {"f-1", "f-2", "f-7"}),
    ("provider-alias-gcp", [("provider", "google cloud")], {"f-3", "f-4"}),
    ("provider-case", [("provider", "AZURE")], {"f-8"}),
    ("gpu", [("gpu_type", "A100-80GB")], {"f-1", "f-2"}),
    ("gpu-alias", [("gpu_type", "a100 80gb")], {"f-1", "f-2"}),
    ("gpu-alias-sxm4", [("gpu_type", "A100-SXM4-80GB")], {"f-1", "f-2"}),
    ("gpu-lower", [("gpu_type", "h100")], {"f-3", "f-4", "f-5", "f-7"}),
    ("gpu-unknown-any-case", [("gpu_type", " b200")], {"f-6"}),
    ("provider-unknown-any-case", [("provider", "COREWEAVE")], {"f-5", "f-6"}),
    ("model", [("model_name", "llama")], {"f-1", "f-2", "f-7"}),
    ("model-is-exact", [("model_name", "LLAMA")], set()),
    ("user", [("user", "ada")], {"f-1", "f-3", "f-7"}),
    ("user-is-exact", [("user", "Ada")], set()),
    ("user-decomposed-accent", [("user", unicodedata.normalize("NFD", "José"))], {"f-6"}),
    ("status-spaces", [("status", " completed ")], {"f-1", "f-8"}),
    ("after-inclusive", [("started_after", "2026-01-10T08:00:00Z")], {"f-1", "f-2", "f-3", "f-7"}),
    ("after-one-ms-later", [("started_after", "2026-01-10T08:00:00.001Z")], {"f-2", "f-3", "f-7"}),
    ("after-offset", [("started_after", "2026-01-10T09:00:00+01:00")], {"f-1", "f-2", "f-3", "f-7"}),
    ("before-exclusive", [("started_before", "2026-01-10T08:00:00Z")], {"f-5", "f-8"}),
    ("before-one-ms-later", [("started_before", "2026-01-10T08:00:00.001Z")], {"f-1", "f-5", "f-8"}),
    ("before-far-future", [("started_before", "2100-01-01T00:00:00Z")], ALL - {"f-4", "f-6"}),
    ("after-epoch", [("started_after", "1970-01-01T00:00:00Z")], ALL - {"f-4", "f-6"}),
    ("window", [("started_after", "2026-01-11T00:00:00Z"), ("started_before", "2026-01-12T00:00:00Z")], {"f-2"}),
    ("window-empty", [("started_after", "2026-01-12T00:00:00Z"), ("started_before", "2026-01-12T00:00:00Z")],
     set()),
    ("team-and-provider", [("team", "nlp"), ("provider", "amazon")], {"f-1", "f-2"}),
    ("team-status-user", [("team", "vision"), ("status", "running"), ("status", "preempted"), ("user", "ada")],
     {"f-3", "f-7"}),
    ("model-and-gpu", [("model_name", "llama"), ("gpu_type", "h100")], {"f-7"}),
    ("provider-and-before", [("provider", "aws"), ("started_before", "2026-01-11T00:00:00Z")], {"f-1"}),
    ("user-and-window", [("user", "bob"), ("started_after", "2026-01-10T00:00:00Z"),
                         ("started_before", "2026-01-11T00:00:01Z")], {"f-2", "f-5"}),
    ("status-and-after", [("status", "cancelled"), ("started_after", "2026-01-01T00:00:00Z")], {"f-5"}),
]


async def seed_filter_jobs(client: Any, headers: dict[str, str]) -> None:
    await ingest_ok(client, headers, [job(job_id, **fields) for job_id, fields in FILTER_JOBS.items()])


@pytest.mark.parametrize(("params", "expected"), [pytest.param(p, e, id=name) for name, p, e in FILTER_CASES])
async def test_each_filter_alone_and_combined_selects_exactly_its_jobs(
        client, admin_headers, params, expected) -> None:
    await seed_filter_jobs(client, admin_headers)
    body = await list_ok(client, admin_headers, params)
    assert set(ids(body)) == expected
    assert len(ids(body)) == len(expected) == body["total"]
    assert body["has_more"] is False


async def test_team_id_filter_selects_that_teams_jobs_and_conflicting_team_filters_select_none(
        client, admin_headers, sessionmaker) -> None:
    await seed_filter_jobs(client, admin_headers)
    nlp, vision = await team_id(sessionmaker, "nlp"), await team_id(sessionmaker, "vision")

    body = await list_ok(client, admin_headers, {"team_id": nlp})
    assert set(ids(body)) == {"f-1", "f-2", "f-8"}
    assert {j["team"]["id"] for j in body["jobs"]} == {nlp}
    assert {j["team"]["name"] for j in body["jobs"]} == {"nlp"}  # the first spelling seen
    body = await list_ok(client, admin_headers, {"team_id": vision, "team": " VISION", "status": "queued"})
    assert ids(body) == ["f-4"]
    assert (await list_ok(client, admin_headers, {"team_id": vision.upper()}))["total"] == 3
    body = await list_ok(client, admin_headers, {"team_id": nlp, "team": "vision"})
    assert body == {"jobs": [], "total": 0, "skip": 0, "limit": 50, "has_more": False,
                    "next_cursor": None}
    body = await list_ok(client, admin_headers, {"team_id": str(uuid.UUID(int=1))})
    assert body["total"] == 0 and body["jobs"] == []


async def test_the_filtered_list_is_newest_start_first_with_never_started_jobs_last(client, admin_headers) -> None:
    await seed_filter_jobs(client, admin_headers)
    body = await list_ok(client, admin_headers)
    # By hand from FILTER_JOBS: f-3 and f-7 tie at 2026-01-12T00:00 (job_id order), then f-2, f-1, f-5 (one ms
    # before f-1), f-8; then the never-started f-4 and f-6 by job_id.
    assert ids(body) == ["f-3", "f-7", "f-2", "f-1", "f-5", "f-8", "f-4", "f-6"]
    statuses = {j["job_id"]: j["status"] for j in body["jobs"]}
    assert statuses == {"f-1": "succeeded", "f-2": "failed", "f-3": "running", "f-4": "queued",
                        "f-5": "cancelled", "f-6": "cancelled", "f-7": "preempted", "f-8": "succeeded"}
    normalised = {j["job_id"]: (j["provider"], j["gpu_type"], j["team"]["name"]) for j in body["jobs"]}
    assert normalised["f-2"] == ("aws", "A100-80GB", "nlp")
    assert normalised["f-4"] == ("gcp", "H100", "vision")
    assert normalised["f-7"] == ("aws", "H100", "vision")
    assert normalised["f-8"] == ("azure", "T4", "nlp")


@pytest.mark.parametrize("instant", [
    "2026-01-10T08:00:00Z", "2026-01-10T08:00:00.0005Z", "2026-01-10T07:59:59.999Z", "2026-01-10T07:59:59.9995Z",
    "2026-01-12T00:00:00Z", "2026-01-12T01:00:00+01:00", "2026-01-09T23:59:59.000001Z"])
async def test_after_and_before_the_same_instant_split_the_started_jobs_in_two(
        client, admin_headers, instant) -> None:
    await seed_filter_jobs(client, admin_headers)
    after = set(ids(await list_ok(client, admin_headers, {"started_after": instant})))
    before = set(ids(await list_ok(client, admin_headers, {"started_before": instant})))
    assert after.isdisjoint(before), instant
    assert after | before == ALL - {"f-4", "f-6"}, instant


# --- 422s ---

BAD_QUERIES: list[tuple[str, list[tuple[str, str]], list[Any]]] = [
    ("reversed-window", [("started_after", "2026-01-12T00:00:00Z"), ("started_before", "2026-01-11T23:59:59Z")],
     ["query", "started_before"]),
    ("naive-after", [("started_after", "2026-01-10T08:00:00")], ["query", "started_after"]),
    ("naive-before", [("started_before", "2026-01-10 08:00:00")], ["query", "started_before"]),
    ("date-only-after", [("started_after", "2026-01-10")], ["query", "started_after"]),
    ("epoch-number-after", [("started_after", "1768032000")], ["query", "started_after"]),
    ("bad-offset", [("started_before", "2026-01-10T08:00:00+25:00")], ["query", "started_before"]),
    ("bad-uuid", [("team_id", "not-a-uuid")], ["query", "team_id"]),
    ("unknown-offset", [("offset", "0")], ["query", "offset"]),
    ("unknown-sort", [("sort", "user")], ["query", "sort"]),
    ("misspelt-filter", [("teams", "nlp")], ["query", "teams"]),
    ("bogus-status", [("status", "bogus")], ["query", "status", 0]),
    ("bogus-second-status", [("status", "queued"), ("status", "bogus")], ["query", "status", 1]),
    ("empty-team", [("team", "   ")], ["query", "team"]),
    ("control-character", [("user", "ada\x00")], ["query", "user"]),
    ("invisible-character", [("team", "nlp\u200b")], ["query", "team"]),  # refused at ingest: matches nothing
    ("too-long-model", [("model_name", "m" * 256)], ["query", "model_name"]),
    ("too-long-gpu-type", [("gpu_type", "G" * 65)], ["query", "gpu_type"]),  # its column holds 64
]


@pytest.mark.parametrize(("params", "loc"), [pytest.param(p, loc, id=name) for name, p, loc in BAD_QUERIES])
async def test_a_bad_or_unknown_parameter_is_a_422_naming_it(client, admin_headers, params, loc) -> None:
    response = await list_jobs(client, admin_headers, params)
    errors = validation_errors(response)
    assert [e["loc"] for e in errors] == [loc], errors


async def test_the_422_types_say_why(client, admin_headers) -> None:
    checks = [
        ([("offset", "-1")], "extra_forbidden"),
        ([("started_after", "2026-01-12T00:00:00Z"), ("started_before", "2026-01-11T00:00:00Z")],
         "window_reversed"),
        ([("team_id", "nope")], "uuid_parsing"),
    ]
    for params, error_type in checks:
        [error] = validation_errors(await list_jobs(client, admin_headers, params))
        assert error["type"] == error_type, (params, error)


# --- one job by id ---

@pytest.mark.parametrize("job_id", [
    "slurm-a:12345_7",
    "cluster/a:12345_7/batch",
    "k8s:ns/pod:0",
    "dir/",
    "odd ?#% id",
    "é/ü:😀",
])
async def test_a_job_is_read_back_by_its_external_id_whatever_characters_it_holds(
        client, admin_headers, job_id) -> None:
    await ingest_ok(client, admin_headers, [job(job_id), job("cluster/a:12345_8/batch")])
    response = await get_job(client, admin_headers, job_id)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["job_id"] == job_id and body["cost"] == "64.000000" and body["snapshots"] is None
    listed = {j["job_id"]: j for j in (await list_ok(client, admin_headers))["jobs"]}
    assert body == listed[job_id]


async def test_an_escaped_slash_in_the_url_reads_the_same_job(client, admin_headers) -> None:
    await ingest_ok(client, admin_headers, [job("cluster/a:1/batch")])
    response = await client.get(f"{JOBS}/cluster%2Fa%3A1%2Fbatch", headers=admin_headers)
    assert response.status_code == 200, response.text
    assert response.json()["job_id"] == "cluster/a:1/batch"


async def test_a_prefix_or_extension_of_a_slash_id_is_not_that_job(client, admin_headers) -> None:
    await ingest_ok(client, admin_headers, [job("cluster/a:1/batch")])
    for missing in ("cluster/a:1", "cluster/a:1/batch/extra", "cluster", "a:1/batch"):
        assert_problem(await get_job(client, admin_headers, missing), 404, "not-found")


async def test_include_snapshots_of_a_billed_job_sums_exactly_to_its_cost(client, admin_headers) -> None:
    # 100 USD over 22:00 → 02:00 plus 1 ms: the run is 14,400,001 ms, so the days split unevenly.
    await ingest_ok(client, admin_headers, [job(
        "billed-split", cost="100.00", started_at="2026-01-03T22:00:00Z", ended_at="2026-01-04T02:00:00.001Z")])
    response = await get_job(client, admin_headers, "billed-split", {"include": "snapshots"})
    assert response.status_code == 200, response.text
    body = response.json()
    ref = reference_cost(datetime(2026, 1, 3, 22, tzinfo=UTC), datetime(2026, 1, 4, 2, 0, 0, 1000, tzinfo=UTC),
                         Decimal(8), Decimal("100.00"), [])
    assert body["cost"] == "100.000000" and body["cost_source"] == "billed"
    assert [(s["day"], s["cost"]) for s in body["snapshots"]] == [
        (d.day.isoformat(), usd(d.cost_micros)) for d in ref.days]
    # 7,200,000 / 14,400,001 of 100 USD = 49.9999965… → 49.999997 and 50.000003 by largest remainder.
    assert [s["cost"] for s in body["snapshots"]] == ["49.999997", "50.000003"]
    assert sum(Decimal(s["cost"]) for s in body["snapshots"]) == Decimal(body["cost"])


async def test_a_queued_job_has_no_snapshots_and_a_zero_run(client, admin_headers) -> None:
    await ingest_ok(client, admin_headers, [job("q-1", status="queued", started_at=None, ended_at=None, cost=None)])
    response = await get_job(client, admin_headers, "q-1", {"include": "snapshots"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["started_at"], body["ended_at"], body["gpu_hours"], body["snapshots"]) == (
        "queued", None, None, "0.000000", [])


@pytest.mark.parametrize("params", [
    {"include": "bogus"}, {"include": "SNAPSHOTS"}, {"include": ""}, {"expand": "snapshots"}])
async def test_get_job_refuses_an_unknown_include_or_parameter(client, admin_headers, params) -> None:
    await ingest_ok(client, admin_headers, [job("inc-1")])
    errors = validation_errors(await get_job(client, admin_headers, "inc-1", params))
    assert [e["loc"] for e in errors] == [["query", next(iter(params))]], errors


async def test_a_missing_job_is_a_404_problem(client, admin_headers) -> None:
    await ingest_ok(client, admin_headers, [job("present")])
    body = assert_problem(await client.get(f"{JOBS}/absent", headers=admin_headers), 404, "not-found")
    assert "absent" in body["detail"]
    assert_problem(await get_job(client, admin_headers, "PRESENT"), 404, "not-found")  # ids are case-sensitive
