"""Issue 16, part 1: a job record's measured energy (`energy_kwh`), GPU utilisation (`gpu_utilization`) and
`region`: validation (bounds, places, exact decimals, clear errors naming the field), storage as integers,
the API's view, and the content hash (old records stay "unchanged"; a change of a new field updates the job).

Expected values are written out by hand: 31.25 kWh = 31,250,000 mWh; a share of 0.82 = 8,200 ten-thousandths.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models import Job
from app.ingestion.costing import to_epoch_ms
from app.ingestion.normalize import FieldError, NormalizedJob, normalize_record
from app.ingestion.wire import decode_json
from app.ingestion.writer import stage_job
from tests.ingestion.conftest import ingest_ok, job, post_jobs
from tests.ingestion.test_normalize import CATALOG, NOW, record
from tests.jobs.snapshots import cost_days

JOBS = "/api/v1/jobs"


def accepted(**fields: Any) -> NormalizedJob:
    result = normalize_record(record(**fields), now=NOW, catalog=CATALOG)
    assert isinstance(result, NormalizedJob), result
    return result


def refused(**fields: Any) -> list[FieldError]:
    result = normalize_record(record(**fields), now=NOW, catalog=CATALOG)
    assert isinstance(result, list), result
    return result


# --- validation, no database ---

@pytest.mark.parametrize(("sent", "mwh"), [
    ("31.25", 31_250_000), ("0", 0), (0, 0), (7, 7_000_000), ("0.000001", 1), ("1e-6", 1), (" 2.5 ", 2_500_000),
    (Decimal("1.234567"), 1_234_567), ("10000000", 10_000_000_000_000), ("10000000.000000", 10_000_000_000_000),
])
def test_energy_is_read_exactly_as_milliwatt_hours(sent: Any, mwh: int) -> None:
    assert accepted(energy_kwh=sent).energy_mwh == mwh


def test_a_json_number_is_read_exactly_not_as_a_float() -> None:
    # 0.1 + 0.2 has no exact float; the JSON decoder gives Decimals, so 0.3 kWh is exactly 300,000 mWh.
    raw = decode_json(b'{"job_id": "j", "team": "t", "status": "queued", "energy_kwh": 0.3, '
                      b'"gpu_utilization": 0.29}')
    result = normalize_record(raw, now=NOW, catalog=CATALOG)
    assert isinstance(result, NormalizedJob), result
    assert (result.energy_mwh, result.gpu_util_bp) == (300_000, 2_900)


@pytest.mark.parametrize(("sent", "why"), [
    ("-0.5", "must be 0 or more"), ("10000000.000001", "at most 10,000,000 kWh"),
    ("1.0000001", "at most 6 decimal places"), ("1.00000000000000000000000000001", "at most 6 decimal places"),
    ("abc", "finite decimal"), ("NaN", "finite decimal"), (1.5, "decimal number"), (True, "decimal number"),
    ([], "decimal number"),
])
def test_energy_out_of_bounds_or_places_is_refused_naming_the_field(sent: Any, why: str) -> None:
    [error] = refused(energy_kwh=sent)
    assert error.field == "energy_kwh" and why in error.message, error


@pytest.mark.parametrize(("sent", "bp"), [
    ("0.82", 8_200), ("0", 0), (1, 10_000), ("1.0000", 10_000), ("0.0001", 1), ("1E-4", 1), (Decimal("0.5"), 5_000),
])
def test_utilization_is_a_share_kept_as_ten_thousandths(sent: Any, bp: int) -> None:
    assert accepted(gpu_utilization=sent).gpu_util_bp == bp


@pytest.mark.parametrize(("sent", "why"), [
    ("82", "not a percentage"), ("1.0001", "at most 1"), ("-0.01", "0 or more"), ("0.12345", "4 decimal places"),
    (0.5, "decimal number"), ("x", "finite decimal"),
])
def test_utilization_out_of_bounds_or_places_is_refused_naming_the_field(sent: Any, why: str) -> None:
    [error] = refused(gpu_utilization=sent)
    assert error.field == "gpu_utilization" and why in error.message, error


@pytest.mark.parametrize(("sent", "stored"), [
    (" US-East-1 ", "us-east-1"), ("europe-west4", "europe-west4"), ("DC Frankfurt", "dc frankfurt"),
    ("r" * 64, "r" * 64), ("", None), ("   ", None), (None, None),
])
def test_region_is_trimmed_and_case_folded(sent: Any, stored: str | None) -> None:
    assert accepted(region=sent).region == stored


@pytest.mark.parametrize(("sent", "why"), [
    ("r" * 65, "at most 64 characters"), ("ß" * 33, "once case-folded"), (5, "must be a string"),
    ("us\u200beast", "invisible"),
])
def test_a_bad_region_is_refused_naming_the_field(sent: Any, why: str) -> None:
    [error] = refused(region=sent)
    assert error.field == "region" and why in error.message, error


def test_blank_numbers_are_absent() -> None:
    job_ = accepted(energy_kwh="", gpu_utilization=" ")
    assert (job_.energy_mwh, job_.gpu_util_bp, job_.region) == (None, None, None)


# --- the content hash ---

class _NoRates:
    """A rate card with no rates: the records here carry a billed cost, so none is needed."""

    def points_for(self, provider: str | None, gpu_type: str | None) -> tuple[()]:
        return ()


NO_RATES: Any = _NoRates()


def _old_hash(job_: NormalizedJob) -> str:
    """The content hash as it was computed before the three fields existed (the document of writer.py at 0008),
    rewritten here: what every job stored before issue 16 carries."""
    costing = stage_job(job_, NO_RATES).costing
    ms = lambda value: None if value is None else to_epoch_ms(value)  # noqa: E731
    document = [
        job_.job_id, job_.team.casefold(), job_.status.value, job_.model_name, job_.gpu_type, job_.gpu_milli,
        job_.provider, job_.user_name, ms(job_.submitted_at), ms(job_.started_at), ms(job_.ended_at),
        ms(job_.observed_at), job_.labels, costing.cost_micros, costing.source.value, costing.gpu_us,
        [[d.day.isoformat(), d.run_ms, d.gpu_us, d.cost_micros] for d in costing.days],
    ]
    encoded = json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def test_the_energy_figures_join_the_hash_and_each_field_changes_it() -> None:
    # Since migration 0013 the hash covers the job's energy figures too, so no hash of before matches: the
    # migration clears the stored ones and the recompute (`jobcost db upgrade`) writes every job once.
    plain = accepted()
    assert stage_job(plain, NO_RATES).content_hash != _old_hash(plain)
    hashes = {stage_job(j, NO_RATES).content_hash for j in (
        plain, accepted(energy_kwh="1"), accepted(energy_kwh="2"), accepted(gpu_utilization="0.5"),
        accepted(region="us-east-1"), accepted(region="eu-west-1"), accepted(energy_kwh="0"))}
    assert len(hashes) == 7


# --- through the API and the database (both databases) ---

async def _stored(sessionmaker: async_sessionmaker[AsyncSession], job_id: str) -> tuple[Any, ...]:
    async with sessionmaker() as session:
        return tuple((await session.execute(text(
            "SELECT energy_mwh, gpu_util_bp, region, updated_at FROM jobs WHERE job_id = :id"),
            {"id": job_id})).one())


async def test_the_fields_are_stored_as_integers_and_shown_as_fixed_place_strings(
        client, admin_headers, sessionmaker) -> None:
    report = await ingest_ok(client, admin_headers, [
        job("e-1", energy_kwh="31.25", gpu_utilization=0.82, region=" US-East-1 "), job("e-2")])
    assert report["created"] == 2
    assert (await _stored(sessionmaker, "e-1"))[:3] == (31_250_000, 8_200, "us-east-1")
    assert (await _stored(sessionmaker, "e-2"))[:3] == (None, None, None)

    detail = (await client.get(f"{JOBS}/e-1", headers=admin_headers, params={"include": "snapshots"})).json()
    assert (detail["energy_kwh"], detail["gpu_utilization"], detail["region"]) == ("31.250000", "0.8200", "us-east-1")
    # The rest of the job is what it was without the fields: billed 64.00 over its one day.
    assert detail["cost"] == "64.000000" and cost_days(detail["snapshots"]) == [
        {"day": "2026-01-14", "gpu_hours": "32.000000", "cost": "64.000000"}]
    listed = {j["job_id"]: j for j in (await client.get(JOBS, headers=admin_headers)).json()["jobs"]}
    assert (listed["e-1"]["energy_kwh"], listed["e-1"]["gpu_utilization"], listed["e-1"]["region"]) == (
        "31.250000", "0.8200", "us-east-1")
    assert (listed["e-2"]["energy_kwh"], listed["e-2"]["gpu_utilization"], listed["e-2"]["region"]) == (
        None, None, None)


async def test_bad_fields_fail_their_record_with_the_field_named(client, admin_headers) -> None:
    response = await post_jobs(client, admin_headers, [
        job("ok"), job("bad-e", energy_kwh="-1"), job("bad-u", gpu_utilization="75"), job("bad-r", region="x" * 65)])
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["created"], report["failed"]) == (1, 3)
    assert {(e["job_id"], e["field"]) for e in report["errors"]} == {
        ("bad-e", "energy_kwh"), ("bad-u", "gpu_utilization"), ("bad-r", "region")}


async def test_an_old_record_sent_again_is_unchanged_and_each_new_field_updates_it(
        client, admin_headers, sessionmaker) -> None:
    await ingest_ok(client, admin_headers, [job("h-1")])
    first = await _stored(sessionmaker, "h-1")
    report = await ingest_ok(client, admin_headers, [job("h-1")])
    assert (report["updated"], report["unchanged"]) == (0, 1)

    steps: list[tuple[dict[str, Any], tuple[Any, ...]]] = [
        ({"energy_kwh": "12.5"}, (12_500_000, None, None)),
        ({"energy_kwh": "12.5", "gpu_utilization": "0.4"}, (12_500_000, 4_000, None)),
        ({"energy_kwh": "12.5", "gpu_utilization": "0.4", "region": "eu-west-1"}, (12_500_000, 4_000, "eu-west-1")),
        ({"energy_kwh": "12.500001", "gpu_utilization": "0.4", "region": "eu-west-1"},
         (12_500_001, 4_000, "eu-west-1")),
        ({"energy_kwh": "12.500001", "gpu_utilization": "0.4", "region": "EU-West-2"},
         (12_500_001, 4_000, "eu-west-2")),
        ({}, (None, None, None)),  # sent without them again: they are gone, as any field left out
    ]
    for fields, expected in steps:
        report = await ingest_ok(client, admin_headers, [job("h-1", **fields)])
        assert (report["updated"], report["unchanged"]) == (1, 0), fields
        assert (await _stored(sessionmaker, "h-1"))[:3] == expected, fields
        report = await ingest_ok(client, admin_headers, [job("h-1", **fields)])
        assert (report["updated"], report["unchanged"]) == (0, 1), fields
    # Case and spacing of the region are not a change.
    await ingest_ok(client, admin_headers, [job("h-1", region="us-east-1")])
    report = await ingest_ok(client, admin_headers, [job("h-1", region=" US-EAST-1")])
    assert report["unchanged"] == 1
    assert first[3] <= (await _stored(sessionmaker, "h-1"))[3]


@pytest.mark.parametrize(("column", "value"), [
    ("energy_mwh", -1), ("energy_mwh", 10_000_000_000_001), ("gpu_util_bp", -1), ("gpu_util_bp", 10_001)])
async def test_the_database_refuses_values_out_of_bounds(
        client, admin_headers, sessionmaker, column: str, value: int) -> None:
    await ingest_ok(client, admin_headers, [job("c-1")])
    async with sessionmaker() as session:
        with pytest.raises(IntegrityError):
            await session.execute(update(Job.__table__).where(Job.job_id == "c-1").values({column: value}))
        await session.rollback()
