"""`POST /admin/ingest/jobs` and `DELETE /admin/jobs/{job_id}` over HTTP, checked against what the database holds.

Expected values are worked out by hand from DESIGN.md ("Job record", "Cost model", "API v1") and the known faults
F04, F06, F10, F14 and F15; prices come from `add_price` on the test provider, so the bundled catalog cannot move
them (except the alias test, which reads the catalog file itself).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models import CostSnapshot, Job, Team
from tests.api.problems import assert_problem, assert_unauthenticated
from tests.ingestion.conftest import INGEST, add_price, ingest_ok, job, post_jobs

MOCK = "/api/v1/admin/ingest/jobs/mock"
DELETE = "/api/v1/admin/jobs/"
CATALOG = Path(__file__).resolve().parents[2] / "app" / "data" / "gpu_prices.json"

# One GPU-hour in GPU-microseconds (Job.gpu_us, CostSnapshot.gpu_us): 1 GPU × 3,600,000 ms × 1000 (milli-GPUs).
GPU_HOUR_US = 3_600_000_000
HOUR_MS = 3_600_000

Sessions = async_sessionmaker[AsyncSession]
SnapshotRow = tuple[date, int, int, Decimal | None]


# --- helpers: read what the app stored, each time in a new session (no stale identity map) ---

async def stored_job(sessionmaker: Sessions, job_id: str) -> Job | None:
    async with sessionmaker() as session:
        return (await session.execute(select(Job).where(Job.job_id == job_id))).scalar_one_or_none()


async def snapshots(sessionmaker: Sessions, job_id: str) -> list[SnapshotRow]:
    """The job's snapshots as (day, run_ms, gpu_us, cost), by day."""
    async with sessionmaker() as session:
        rows = await session.execute(
            select(CostSnapshot.day, CostSnapshot.run_ms, CostSnapshot.gpu_us, CostSnapshot.cost)
            .join(Job, Job.id == CostSnapshot.job_pk).where(Job.job_id == job_id).order_by(CostSnapshot.day))
        return [tuple(r) for r in rows.all()]  # type: ignore[misc]


async def count(sessionmaker: Sessions, model: Any) -> int:
    async with sessionmaker() as session:
        return (await session.execute(select(func.count()).select_from(model))).scalar_one()


async def post_raw(client: httpx.AsyncClient, headers: dict[str, str], body: str | bytes,
                   content_type: str = "application/json") -> httpx.Response:
    return await client.post(INGEST, content=body, headers={**headers, "Content-Type": content_type})


def errors_of(report: dict[str, Any]) -> set[tuple[Any, Any, Any]]:
    return {(e["index"], e["job_id"], e["field"]) for e in report["errors"]}


def only_error(report: dict[str, Any]) -> dict[str, Any]:
    assert report["failed"] == 1, report
    assert len(report["errors"]) == 1, report
    return report["errors"][0]


# --- the report of a mixed batch ---

async def test_a_mixed_batch_is_reported_record_by_record_and_the_good_records_are_stored(
        client, admin_headers, sessionmaker) -> None:
    batch = [
        job("mix-1", team=" Vision "),                               # 0 created; first spelling of the team
        job("mix-2", ended_at="2026-01-14T07:00:00Z"),               # 1 failed: ends before it starts
        job("mix-3", team="vision", model_name="first", cost="10.00"),  # 2 superseded by 3
        job("mix-3", team="VISION", model_name="last", cost="12.50"),   # 3 created: the last valid copy wins
        job("mix-4", team="nlp"),                                    # 4 created, a second new team
        job("mix-5", cost="7.25"),                                   # 5 created
        job("mix-5", status="bogus"),                                # 6 failed: an invalid copy, 5 still stored
        "not a job",                                                 # 7 failed: not an object
        job(42),  # type: ignore[arg-type]                           # 8 failed: job_id not a string
    ]

    report = await ingest_ok(client, admin_headers, batch)

    assert report["received"] == 9
    assert report["created"] == 4
    assert report["updated"] == 0
    assert report["unchanged"] == 0
    assert report["superseded"] == 1
    assert report["failed"] == 4
    assert report["teams_created"] == 2
    errors = errors_of(report)
    assert (1, "mix-2", "ended_at") in errors
    assert (6, "mix-5", "status") in errors
    assert (7, None, None) in errors
    assert {e["index"] for e in report["errors"]} == {1, 6, 7, 8}
    assert all(e["job_id"] is None for e in report["errors"] if e["index"] == 8)
    assert all(isinstance(e["message"], str) and e["message"] for e in report["errors"])

    assert await stored_job(sessionmaker, "mix-2") is None
    assert await count(sessionmaker, Job) == 4
    mix3 = await stored_job(sessionmaker, "mix-3")
    assert mix3 is not None
    assert mix3.model_name == "last"
    assert mix3.cost == Decimal("12.50")
    assert mix3.billed_cost == Decimal("12.50")
    assert [s[3] for s in await snapshots(sessionmaker, "mix-3")] == [Decimal("12.50")]
    mix5 = await stored_job(sessionmaker, "mix-5")
    assert mix5 is not None
    assert mix5.status == "succeeded"
    assert mix5.cost == Decimal("7.25")

    async with sessionmaker() as session:
        teams = (await session.execute(select(Team.name, Team.name_key).order_by(Team.name_key))).all()
        vision_id = (await session.execute(select(Team.id).where(Team.name_key == "vision"))).scalar_one()
        vision_jobs = (await session.execute(
            select(Job.job_id).where(Job.team_id == vision_id).order_by(Job.job_id))).scalars().all()
    assert [tuple(t) for t in teams] == [("nlp", "nlp"), ("Vision", "vision")]
    assert vision_jobs == ["mix-1", "mix-3", "mix-5"]


async def test_an_empty_batch_reports_all_zero(client, admin_headers, sessionmaker) -> None:
    response = await post_jobs(client, admin_headers, [])

    assert response.status_code == 200, response.text
    assert response.json() == {"received": 0, "created": 0, "updated": 0, "unchanged": 0, "superseded": 0,
                               "failed": 0, "teams_created": 0, "errors": [], "errors_omitted": 0}
    assert await count(sessionmaker, Job) == 0


# --- F06: created, updated, unchanged ---

async def test_f06_update_moves_updated_at_and_replaces_snapshots_and_an_identical_post_writes_nothing(
        client, admin_headers, sessionmaker) -> None:
    report = await ingest_ok(client, admin_headers, [job("slurm-1001")])
    assert (report["created"], report["updated"], report["unchanged"]) == (1, 0, 0)
    first = await stored_job(sessionmaker, "slurm-1001")
    assert first is not None
    assert first.created_at == first.updated_at
    assert await snapshots(sessionmaker, "slurm-1001") == [
        (date(2026, 1, 14), 4 * HOUR_MS, 8 * 4 * GPU_HOUR_US, Decimal("64.00"))]

    report = await ingest_ok(client, admin_headers, [job("slurm-1001", cost="70.00")])
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 1, 0)
    second = await stored_job(sessionmaker, "slurm-1001")
    assert second is not None
    assert second.id == first.id
    assert second.created_at == first.created_at
    assert second.updated_at > second.created_at
    assert second.cost == Decimal("70.00")
    assert second.content_hash != first.content_hash
    # Still one snapshot for a same-day job, now with the new cost (replaced, not added).
    after_update = await snapshots(sessionmaker, "slurm-1001")
    assert after_update == [(date(2026, 1, 14), 4 * HOUR_MS, 8 * 4 * GPU_HOUR_US, Decimal("70.00"))]

    report = await ingest_ok(client, admin_headers, [job("slurm-1001", cost="70.00")])
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 0, 1)
    third = await stored_job(sessionmaker, "slurm-1001")
    assert third is not None
    assert third.updated_at == second.updated_at
    assert third.created_at == first.created_at
    assert third.content_hash == second.content_hash
    assert await snapshots(sessionmaker, "slurm-1001") == after_update
    assert await count(sessionmaker, CostSnapshot) == 1


# --- F10: run boundaries ---

async def test_f10_a_job_ending_before_it_starts_is_refused_on_ended_at(client, admin_headers, sessionmaker) -> None:
    report = await ingest_ok(client, admin_headers, [job("f10-neg", ended_at="2026-01-14T07:59:59Z")])

    error = only_error(report)
    assert (error["index"], error["job_id"], error["field"]) == (0, "f10-neg", "ended_at")
    assert report["created"] == 0
    assert await count(sessionmaker, Job) == 0
    assert await count(sessionmaker, CostSnapshot) == 0


async def test_f10_a_zero_length_run_is_one_snapshot_of_no_time(client, admin_headers, sessionmaker) -> None:
    record = job("f10-zero", ended_at="2026-01-14T08:00:00Z", cost="0.00")

    report = await ingest_ok(client, admin_headers, [record])

    assert report["created"] == 1, report
    stored = await stored_job(sessionmaker, "f10-zero")
    assert stored is not None
    assert stored.cost == Decimal(0)
    assert stored.gpu_us == 0
    assert await snapshots(sessionmaker, "f10-zero") == [(date(2026, 1, 14), 0, 0, Decimal(0))]


async def test_f10_a_running_job_with_an_end_is_refused(client, admin_headers, sessionmaker) -> None:
    report = await ingest_ok(client, admin_headers, [job("f10-run", status="running")])

    error = only_error(report)
    assert (error["index"], error["job_id"], error["field"]) == (0, "f10-run", "ended_at")
    assert await count(sessionmaker, Job) == 0


# --- F15: exact decimals, whatever their JSON type ---

def _body(record: dict[str, Any], cost_literal: str) -> str:
    """The batch with `cost` spelled exactly as `cost_literal` (a JSON number, or a quoted string)."""
    text = json.dumps({"jobs": [{**record, "cost": "__COST__"}]})
    return text.replace('"__COST__"', cost_literal)


@pytest.mark.parametrize("literal", ["48.717983", '"48.717983"'])
async def test_f15_cost_is_read_exactly_as_a_number_or_a_string(client, admin_headers, sessionmaker,
                                                                literal: str) -> None:
    response = await post_raw(client, admin_headers, _body(job("f15-cost"), literal))

    assert response.status_code == 200, response.text
    assert response.json()["created"] == 1, response.text
    stored = await stored_job(sessionmaker, "f15-cost")
    assert stored is not None
    assert stored.cost == Decimal("48.717983")
    assert stored.billed_cost == Decimal("48.717983")
    assert [s[3] for s in await snapshots(sessionmaker, "f15-cost")] == [Decimal("48.717983")]


async def test_f15_a_cost_with_seven_places_is_refused_alike_as_number_and_string(
        client, admin_headers, sessionmaker) -> None:
    reports = []
    for literal in ("48.7179831", '"48.7179831"'):
        response = await post_raw(client, admin_headers, _body(job("f15-seven"), literal))
        assert response.status_code == 200, response.text
        reports.append(response.json())

    error = only_error(reports[0])
    assert (error["index"], error["job_id"], error["field"]) == (0, "f15-seven", "cost")
    assert reports[1] == reports[0]
    assert await count(sessionmaker, Job) == 0


@pytest.mark.parametrize("literal", ["9999999999.999999", '"9999999999.999999"'])
async def test_f15_a_large_amount_is_stored_to_the_micro_dollar(client, admin_headers, sessionmaker,
                                                               literal: str) -> None:
    # A float holds ~16 significant digits: 9999999999.999999 has 16, so any float on the way would show.
    response = await post_raw(client, admin_headers, _body(job("f15-big"), literal))

    assert response.status_code == 200, response.text
    assert response.json()["created"] == 1, response.text
    stored = await stored_job(sessionmaker, "f15-big")
    assert stored is not None
    assert stored.cost == Decimal("9999999999.999999")
    assert [s[3] for s in await snapshots(sessionmaker, "f15-big")] == [Decimal("9999999999.999999")]


# --- F14: exact sums ---

async def test_f14_snapshot_sums_per_team_and_overall_are_exact(client, admin_headers, sessionmaker) -> None:
    teams = ["alpha", "beta", "gamma", "delta"]
    batch = [job(f"f14-{i:03d}", team=teams[i % 4], cost="1234.5678") for i in range(800)]

    report = await ingest_ok(client, admin_headers, batch)
    assert report["created"] == 800, report

    async with sessionmaker() as session:
        per_team = dict((await session.execute(
            select(Team.name, func.sum(CostSnapshot.cost))
            .join(Job, Job.id == CostSnapshot.job_pk).join(Team, Team.id == Job.team_id)
            .group_by(Team.name))).all())
        total = (await session.execute(
            select(func.sum(CostSnapshot.cost)).join(Job, Job.id == CostSnapshot.job_pk))).scalar_one()
    # 200 jobs per team × 1234.5678 = 246913.56; 800 × 1234.5678 = 987654.24.
    assert per_team == {name: Decimal("246913.56") for name in teams}
    assert total == Decimal("987654.24")
    assert await count(sessionmaker, CostSnapshot) == 800


# --- F04: one batch far over the bind-parameter limit ---

async def test_f04_four_thousand_jobs_in_one_batch(client, admin_headers, sessionmaker) -> None:
    # ~20 columns × 4,000 rows = ~80,000 values: more than twice what one statement may bind (32,767).
    batch = [job(f"f04-{i:04d}", team=f"team-{i % 7}", user="ada", submitted_at="2026-01-14T07:00:00Z",
                 labels={"n": str(i)}, cost=f"{i}.25") for i in range(4000)]

    report = await ingest_ok(client, admin_headers, batch)
    assert report["created"] == 4000, {k: v for k, v in report.items() if k != "errors"}
    assert report["failed"] == 0
    assert await count(sessionmaker, Job) == 4000
    assert await count(sessionmaker, CostSnapshot) == 4000
    last = await stored_job(sessionmaker, "f04-3999")
    assert last is not None
    assert last.cost == Decimal("3999.25")
    assert last.labels == {"n": "3999"}

    report = await ingest_ok(client, admin_headers, batch)
    assert report["unchanged"] == 4000, {k: v for k, v in report.items() if k != "errors"}
    assert await count(sessionmaker, Job) == 4000


# --- estimated and unpriced costs ---

async def test_an_estimated_cost_is_gpu_hours_times_the_price(client, admin_headers, sessionmaker) -> None:
    await add_price(sessionmaker, "H100", "2.50")

    await ingest_ok(client, admin_headers, [job("est-1", cost=None)])

    stored = await stored_job(sessionmaker, "est-1")
    assert stored is not None
    # 8 GPUs × 4 h = 32 GPU-h × 2.50 = 80.000000
    assert stored.cost == Decimal("80.000000")
    assert stored.billed_cost is None
    assert stored.cost_source == "estimated"
    assert stored.gpu_us == 32 * GPU_HOUR_US
    assert await snapshots(sessionmaker, "est-1") == [
        (date(2026, 1, 14), 4 * HOUR_MS, 32 * GPU_HOUR_US, Decimal("80.000000"))]


async def test_an_estimated_cost_is_split_at_utc_midnight(client, admin_headers, sessionmaker) -> None:
    await add_price(sessionmaker, "H100", "2.50")

    await ingest_ok(client, admin_headers, [
        job("est-night", cost=None, started_at="2026-01-03T22:00:00Z", ended_at="2026-01-04T02:00:00Z")])

    stored = await stored_job(sessionmaker, "est-night")
    assert stored is not None
    # 22:00–24:00 and 00:00–02:00: 8 GPUs × 2 h = 16 GPU-h × 2.50 = 40.000000 on each day, 80.000000 in all.
    assert stored.cost == Decimal("80.000000")
    assert await snapshots(sessionmaker, "est-night") == [
        (date(2026, 1, 3), 2 * HOUR_MS, 16 * GPU_HOUR_US, Decimal("40.000000")),
        (date(2026, 1, 4), 2 * HOUR_MS, 16 * GPU_HOUR_US, Decimal("40.000000")),
    ]


async def test_a_price_change_inside_a_day_splits_that_day(client, admin_headers, sessionmaker) -> None:
    await add_price(sessionmaker, "H100", "2.50")
    await add_price(sessionmaker, "H100", "4.00", valid_from=datetime(2026, 1, 14, 12, tzinfo=UTC))

    await ingest_ok(client, admin_headers, [
        job("est-change", cost=None, started_at="2026-01-14T08:00:00Z", ended_at="2026-01-14T16:00:00Z")])

    stored = await stored_job(sessionmaker, "est-change")
    assert stored is not None
    # 08:00–12:00: 8 × 4 h = 32 GPU-h × 2.50 = 80; 12:00–16:00: 32 GPU-h × 4.00 = 128; the day: 208.000000.
    assert stored.cost == Decimal("208.000000")
    assert stored.cost_source == "estimated"
    assert await snapshots(sessionmaker, "est-change") == [
        (date(2026, 1, 14), 8 * HOUR_MS, 64 * GPU_HOUR_US, Decimal("208.000000"))]


async def test_without_a_price_gpu_time_is_kept_and_no_cost_invented(client, admin_headers, sessionmaker) -> None:
    await add_price(sessionmaker, "H100", "2.50")  # a price for another GPU type must not leak

    await ingest_ok(client, admin_headers, [job("unpriced-1", gpu_type="H200", cost=None)])

    stored = await stored_job(sessionmaker, "unpriced-1")
    assert stored is not None
    assert stored.cost is None
    assert stored.billed_cost is None
    assert stored.cost_source == "unpriced"
    assert stored.gpu_us == 32 * GPU_HOUR_US
    assert await snapshots(sessionmaker, "unpriced-1") == [(date(2026, 1, 14), 4 * HOUR_MS, 32 * GPU_HOUR_US, None)]


def _catalog() -> dict[str, Any]:
    return json.loads(CATALOG.read_text(encoding="utf-8"))


async def test_provider_and_gpu_names_go_through_the_catalog_aliases(client, admin_headers, sessionmaker) -> None:
    catalog = _catalog()
    gpu_aliases = {k.strip().casefold(): v for k, v in catalog["aliases"]["gpu_type"].items()}
    provider_aliases = {k.strip().casefold(): v for k, v in catalog["aliases"]["provider"].items()}
    if gpu_aliases.get("a100-sxm4-80gb") != "A100-80GB" or provider_aliases.get("amazon") != "aws":
        pytest.skip("the bundled gpu_prices.json has no alias A100-SXM4-80GB -> A100-80GB or Amazon -> aws")

    await ingest_ok(client, admin_headers, [
        job("alias-1", gpu_type=" A100-SXM4-80GB ", provider="Amazon", cost=None)])

    stored = await stored_job(sessionmaker, "alias-1")
    assert stored is not None
    assert (stored.gpu_type, stored.provider) == ("A100-80GB", "aws")
    prices = [p for p in catalog["prices"] if (p["provider"], p["gpu_type"]) == ("aws", "A100-80GB")]
    if len(prices) == 1:  # priced through the canonical pair: 8 GPUs × 4 h = 32 GPU-h × the catalog price
        assert stored.cost_source == "estimated"
        assert stored.cost == 32 * Decimal(prices[0]["usd_per_gpu_hour"])


# --- running jobs and observed_at ---

def _at(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


async def test_a_running_job_is_costed_up_to_when_it_was_seen(client, admin_headers, sessionmaker) -> None:
    await add_price(sessionmaker, "H100", "2.50")
    started = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    record = job("run-1", status="running", started_at=_at(started), ended_at=None, cost=None)

    before = datetime.now(UTC)
    report = await ingest_ok(client, admin_headers, [record])
    after = datetime.now(UTC)

    assert report["created"] == 1, report
    stored = await stored_job(sessionmaker, "run-1")
    assert stored is not None
    assert stored.observed_at is not None
    assert before - timedelta(minutes=1) <= stored.observed_at <= after + timedelta(minutes=1)
    assert stored.ended_at is None
    run_ms = (stored.observed_at - started) // timedelta(milliseconds=1)
    rows = await snapshots(sessionmaker, "run-1")
    assert sum(r[1] for r in rows) == run_ms
    assert rows[0][0] == started.date()
    assert rows[-1][0] == stored.observed_at.date()
    assert stored.gpu_us == 8 * 1000 * run_ms
    assert stored.cost_source == "estimated"
    assert sum(r[3] for r in rows) == stored.cost  # type: ignore[misc]

    # The same record sent again with another (explicit, past) observed_at: a new observation, so updated.
    seen = started + timedelta(hours=2)
    report = await ingest_ok(client, admin_headers, [{**record, "observed_at": _at(seen)}])
    assert report["updated"] == 1, report
    again = await stored_job(sessionmaker, "run-1")
    assert again is not None
    assert again.observed_at == seen
    assert again.created_at == stored.created_at
    assert again.updated_at > stored.updated_at
    assert sum(r[1] for r in await snapshots(sessionmaker, "run-1")) == 2 * HOUR_MS
    assert again.gpu_us == 8 * 2 * GPU_HOUR_US
    # 8 GPUs × 2 h = 16 GPU-h × 2.50 = 40.000000
    assert again.cost == Decimal("40.000000")


async def test_a_running_job_with_the_same_observed_at_is_unchanged(client, admin_headers, sessionmaker) -> None:
    record = job("run-2", status="running", started_at="2026-01-13T06:00:00Z", ended_at=None, cost=None,
                 observed_at="2026-01-14T18:00:00Z")

    first = await ingest_ok(client, admin_headers, [record])
    second = await ingest_ok(client, admin_headers, [record])

    assert first["created"] == 1, first
    assert second["unchanged"] == 1, second
    stored = await stored_job(sessionmaker, "run-2")
    assert stored is not None
    assert stored.observed_at == datetime(2026, 1, 14, 18, tzinfo=UTC)
    assert stored.updated_at == stored.created_at
    # 06:00 → 24:00 on the 13th and 00:00 → 18:00 on the 14th: 18 h each, 8 GPUs, unpriced (no test price).
    assert await snapshots(sessionmaker, "run-2") == [
        (date(2026, 1, 13), 18 * HOUR_MS, 8 * 18 * GPU_HOUR_US, None),
        (date(2026, 1, 14), 18 * HOUR_MS, 8 * 18 * GPU_HOUR_US, None),
    ]


# --- the envelope ---

async def test_malformed_json_is_a_400(client, admin_headers, sessionmaker) -> None:
    response = await post_raw(client, admin_headers, '{"jobs": [')

    assert_problem(response, 400, "malformed-json")
    assert await count(sessionmaker, Job) == 0


async def test_a_nan_literal_is_malformed_json(client, admin_headers, sessionmaker) -> None:
    response = await post_raw(client, admin_headers, _body(job("nan-1"), "NaN"))

    assert_problem(response, 400, "malformed-json")
    assert await count(sessionmaker, Job) == 0


async def test_a_deeply_nested_body_is_a_400_not_a_500(client, admin_headers, sessionmaker) -> None:
    response = await post_raw(client, admin_headers, "[" * 100_000)

    assert_problem(response, 400, "malformed-json")
    assert await count(sessionmaker, Job) == 0


async def test_a_body_that_is_not_json_is_a_415(client, admin_headers, sessionmaker) -> None:
    response = await post_raw(client, admin_headers, json.dumps({"jobs": [job("plain-1")]}), "text/plain")

    assert_problem(response, 415, "unsupported-media-type")
    assert await count(sessionmaker, Job) == 0


@pytest.mark.parametrize("body", ["[]", "{}", '{"jobs": {}}', '{"jobs": [], "extra": 1}',
                                  '{"jobs": [{"job_id": "env-1", "team": "t", "status": "queued"}], "extra": 1}'])
async def test_a_body_that_is_not_the_envelope_is_a_422(client, admin_headers, sessionmaker, body: str) -> None:
    response = await post_raw(client, admin_headers, body)

    problem = assert_problem(response, 422, "validation-error")
    assert problem["errors"], problem
    assert all(e["loc"][0] == "body" for e in problem["errors"]), problem
    assert await count(sessionmaker, Job) == 0


async def test_more_than_ten_thousand_jobs_is_a_413(client, admin_headers, sessionmaker) -> None:
    batch = [job(f"big-{i}") for i in range(10_001)]

    response = await post_jobs(client, admin_headers, batch)

    problem = assert_problem(response, 413, "content-too-large")
    assert "10,000" in problem["detail"]
    assert await count(sessionmaker, Job) == 0


# --- who may call ---

ADMIN_CALLS = [("POST", INGEST, {"jobs": []}), ("POST", MOCK, None), ("DELETE", DELETE + "some-job", None)]


@pytest.mark.parametrize(("method", "url", "body"), ADMIN_CALLS)
async def test_admin_endpoints_need_a_token(client, sessionmaker, method: str, url: str, body: Any) -> None:
    response = await client.request(method, url, json=body)

    assert_unauthenticated(response)
    assert await count(sessionmaker, Job) == 0


@pytest.mark.parametrize(("method", "url", "body"), ADMIN_CALLS)
async def test_admin_endpoints_are_forbidden_to_members(client, member_headers, sessionmaker, method: str, url: str,
                                                        body: Any) -> None:
    response = await client.request(method, url, json=body, headers=member_headers)

    assert_problem(response, 403, "forbidden")
    assert await count(sessionmaker, Job) == 0


async def test_a_member_cannot_ingest_a_batch(client, member_headers, sessionmaker) -> None:
    response = await post_jobs(client, member_headers, [job("member-1")])

    assert_problem(response, 403, "forbidden")
    assert await count(sessionmaker, Job) == 0


# --- DELETE /admin/jobs/{job_id} ---

async def test_delete_removes_the_job_and_its_snapshots(client, admin_headers, sessionmaker) -> None:
    await ingest_ok(client, admin_headers, [
        job("k8s/ns/pod-1", started_at="2026-01-03T22:00:00Z", ended_at="2026-01-04T02:00:00Z"),
        job("keep-me"),
    ])
    doomed = await stored_job(sessionmaker, "k8s/ns/pod-1")
    assert doomed is not None
    assert len(await snapshots(sessionmaker, "k8s/ns/pod-1")) == 2

    response = await client.delete(DELETE + "k8s/ns/pod-1", headers=admin_headers)

    assert response.status_code == 204, response.text
    assert response.content == b""
    assert await stored_job(sessionmaker, "k8s/ns/pod-1") is None
    async with sessionmaker() as session:
        left = (await session.execute(
            select(func.count()).select_from(CostSnapshot).where(CostSnapshot.job_pk == doomed.id))).scalar_one()
    assert left == 0
    assert await stored_job(sessionmaker, "keep-me") is not None
    assert await count(sessionmaker, CostSnapshot) == 1

    again = await client.delete(DELETE + "k8s/ns/pod-1", headers=admin_headers)
    assert_problem(again, 404, "not-found")


async def test_deleting_an_unknown_job_is_a_404(client, admin_headers) -> None:
    assert_problem(await client.delete(DELETE + "no-such-job", headers=admin_headers), 404, "not-found")


# --- found by attacking a running service ----------------------------------------------------------------------


async def test_lone_surrogates_are_refused_per_record_and_the_batch_kept(
        client: httpx.AsyncClient, admin_headers: dict[str, str], session: AsyncSession) -> None:
    # "\ud800" as a JSON escape decodes to a lone surrogate, which no UTF-8 encoder (hash, database, JSON reply)
    # accepts: it must be refused as that record's field, not fail the whole batch.
    body = ('{"jobs": [' + json.dumps(job("good-before-surrogate")) + ","
            + json.dumps(job("sur-1", team="t\ud800")) + ","
            + '{"job_id": "\\ud800", "team": "x", "status": "queued"}]}')
    response = await client.post(INGEST, content=body.encode(), headers={**admin_headers,
                                                                          "Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["created"], report["failed"]) == (1, 2), report
    assert [(e["index"], e["field"]) for e in report["errors"]] == [(1, "team"), (2, "job_id")]
    assert report["errors"][1]["job_id"] == "\ufffd\ufffd\ufffd"  # echoed, made encodable
    assert await session.scalar(select(func.count()).select_from(Job)) == 1


async def test_duplicate_keys_in_a_record_are_malformed_json(
        client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    body = '{"jobs": [{"job_id": "dup-key", "team": "t", "status": "queued", "team": "u"}]}'
    response = await client.post(INGEST, content=body, headers={**admin_headers, "Content-Type": "application/json"})
    problem = assert_problem(response, 400, "malformed-json")
    assert "duplicate key 'team'" in problem["errors"][0]["msg"]


async def test_errors_are_capped_and_the_rest_counted(
        client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    # 300 records with 5 unknown fields each: 1,500 error entries, of which 1,000 are listed.
    bad = [{**job(f"bad-{i}"), **{f"x{k}": 1 for k in range(5)}} for i in range(300)]
    report = await ingest_ok(client, admin_headers, bad)
    assert report["failed"] == 300
    assert len(report["errors"]) == 1000
    assert report["errors_omitted"] == 500
    assert report["errors"][-1]["index"] == 199  # record order: records 0–199 fill the 1,000 entries


async def test_unknown_gpu_and_provider_spellings_differing_in_case_are_one(
        client: httpx.AsyncClient, admin_headers: dict[str, str], session: AsyncSession) -> None:
    await ingest_ok(client, admin_headers, [job("case-1", gpu_type="b200", provider="CoreWeave"),
                                            job("case-2", gpu_type="B200", provider="coreweave ")])
    rows = (await session.execute(select(Job.gpu_type, Job.provider).where(Job.job_id.like("case-%")))).all()
    assert set(rows) == {("B200", "coreweave")}
