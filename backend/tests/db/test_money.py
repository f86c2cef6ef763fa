"""Money as `Micros`: exact integer micro-USD in the database, `Decimal` USD with 6 places in Python, never a
float and never silently rounded; and F14, sums that stay exact on both databases (SQLite's NUMERIC is a float)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import CostSnapshot, CostSource, Job, JobStatus, Team
from tests.db import builders


async def _raw_cost_micros(session: AsyncSession, job_id: str) -> Any:
    return (await session.execute(text("SELECT cost_micros FROM jobs WHERE job_id = :j"), {"j": job_id})).scalar_one()


async def _cost(session: AsyncSession, job_id: str) -> Decimal | None:
    return (await session.execute(select(Job.cost).where(Job.job_id == job_id))).scalar_one()


def assert_usd(value: Any, expected: str) -> None:
    """A Decimal with exactly six places, equal digit for digit to `expected`."""
    assert isinstance(value, Decimal), type(value)
    assert value.as_tuple().exponent == -6, value
    assert str(value) == expected


@pytest.mark.parametrize(
    ("amount", "micros", "read_back"),
    [
        pytest.param(Decimal("1234.5678"), 1_234_567_800, "1234.567800", id="four-places"),
        pytest.param(Decimal("0.000001"), 1, "0.000001", id="one-micro"),
        pytest.param(3, 3_000_000, "3.000000", id="int-dollars"),
        # Written with 7 places but exact to the micro-USD: nothing to round, so nothing to refuse.
        pytest.param(Decimal("0.1000000"), 100_000, "0.100000", id="trailing-zero"),
        # The largest BIGINT: a float (53-bit mantissa) could not carry it exactly.
        pytest.param(Decimal("9223372036854.775807"), 9_223_372_036_854_775_807, "9223372036854.775807",
                     id="bigint-max"),
        pytest.param(Decimal("-9223372036854.775808"), -9_223_372_036_854_775_808, "-9223372036854.775808",
                     id="bigint-min"),
        # Zero written with a huge exponent is still zero, not out of range.
        pytest.param(Decimal("0E+30"), 0, "0.000000", id="zero-large-exponent"),
    ],
)
async def test_amount_is_integer_micros_in_the_database(session: AsyncSession, owner: Team, amount: Any,
                                                         micros: int, read_back: str) -> None:
    session.add(builders.job("m-1", owner, cost=amount))
    await session.flush()

    raw = await _raw_cost_micros(session, "m-1")
    assert type(raw) is int and raw == micros
    assert_usd(await _cost(session, "m-1"), read_back)


async def test_missing_amount_stays_null(session: AsyncSession, owner: Team) -> None:
    session.add(builders.job("m-none", owner, cost=None))
    await session.flush()
    assert await _raw_cost_micros(session, "m-none") is None
    assert await _cost(session, "m-none") is None


@pytest.mark.parametrize(
    ("amount", "error"),
    [
        pytest.param(0.1, TypeError, id="float"),
        pytest.param(2.0, TypeError, id="integral-float"),
        pytest.param("1.00", TypeError, id="string"),
        pytest.param(True, TypeError, id="bool"),
        pytest.param(Decimal("NaN"), ValueError, id="nan"),
        pytest.param(Decimal("sNaN"), ValueError, id="signalling-nan"),
        pytest.param(Decimal("Infinity"), ValueError, id="infinity"),
        pytest.param(Decimal("-Infinity"), ValueError, id="minus-infinity"),
        pytest.param(Decimal("0.0000001"), ValueError, id="seven-places"),
        pytest.param(Decimal("1234.5678901"), ValueError, id="seven-places-large"),
        pytest.param(Decimal("1E-10"), ValueError, id="exponent-notation"),
        # 29 significant digits: multiplied under the default 28-digit context it rounds to a whole number of
        # micro-USD, so a naive check would accept it and store 1.000000.
        pytest.param(Decimal("1.0000000000000000000000000001"), ValueError, id="seven-places-29-digits"),
        # One micro-USD past BIGINT either way: refused by the type, not by whichever error each driver raises.
        pytest.param(Decimal("9223372036854.775808"), ValueError, id="above-bigint"),
        pytest.param(Decimal("-9223372036854.775809"), ValueError, id="below-bigint"),
        pytest.param(Decimal("1E+30"), ValueError, id="far-above-bigint"),
    ],
)
async def test_unsafe_amount_is_refused_and_nothing_is_stored(session: AsyncSession, owner: Team, amount: Any,
                                                              error: type[Exception]) -> None:
    await builders.assert_refused_at_bind(session, builders.job("m-bad", owner, cost=amount), error)


TEAMS = ("vision", "nlp", "speech", "ranking")
DAY = date(2026, 1, 10)


async def _insert_jobs_with_snapshots(session: AsyncSession, costs: list[Decimal], teams: list[Team],
                                      prefix: str) -> None:
    """One job per cost, teams taken in turn, each job's whole cost on one snapshot of the same day."""
    jobs: list[dict[str, Any]] = []
    snapshots: list[dict[str, Any]] = []
    for index, cost in enumerate(costs):
        pk = uuid.uuid4()
        jobs.append({"id": pk, "job_id": f"{prefix}-{index:03d}", "team_id": teams[index % len(teams)].id,
                     "status": JobStatus.succeeded, "cost_source": CostSource.billed, "content_hash": "0" * 64,
                     "cost": cost})
        snapshots.append({"job_pk": pk, "day": DAY, "run_ms": 3_600_000, "gpu_us": 3_600_000_000, "cost": cost})
    await session.execute(insert(Job), jobs)
    await session.execute(insert(CostSnapshot), snapshots)


async def test_f14_800_amounts_sum_exactly_overall_per_team_and_per_day(session: AsyncSession) -> None:
    teams = [builders.team(name) for name in TEAMS]
    session.add_all(teams)
    await session.flush()
    await _insert_jobs_with_snapshots(session, [Decimal("1234.5678")] * 800, teams, "m")

    # By hand: 1234.5678 × 8 = 9876.5424, so × 800 = 987654.24; each team has 200 jobs: 246913.56.
    total = (await session.execute(select(func.sum(Job.cost)).where(Job.job_id.like("m-%")))).scalar_one()
    assert_usd(total, "987654.240000")
    raw_total = (await session.execute(text("SELECT SUM(cost_micros) FROM jobs WHERE job_id LIKE 'm-%'"))).scalar_one()
    assert int(raw_total) == 987_654_240_000

    by_team = dict((await session.execute(
        select(Team.name, func.sum(CostSnapshot.cost))
        .join(Job, Job.id == CostSnapshot.job_pk)
        .join(Team, Team.id == Job.team_id)
        .group_by(Team.name)
    )).all())
    assert {name: str(amount) for name, amount in by_team.items()} == dict.fromkeys(TEAMS, "246913.560000")
    for amount in by_team.values():
        assert_usd(amount, "246913.560000")
    assert sum(by_team.values()) == Decimal("987654.24")

    by_day = (await session.execute(
        select(CostSnapshot.day, func.sum(CostSnapshot.cost)).group_by(CostSnapshot.day)
    )).all()
    assert len(by_day) == 1 and by_day[0][0] == DAY
    assert_usd(by_day[0][1], "987654.240000")


async def test_f14_tenth_plus_fifth_is_three_tenths(session: AsyncSession) -> None:
    teams = [builders.team("small-sums")]
    session.add_all(teams)
    await session.flush()
    await _insert_jobs_with_snapshots(session, [Decimal("0.10"), Decimal("0.20"), Decimal("0.00")], teams, "s")

    total = (await session.execute(select(func.sum(Job.cost)).where(Job.job_id.like("s-%")))).scalar_one()
    assert_usd(total, "0.300000")
    snapshot_total = (await session.execute(select(func.sum(CostSnapshot.cost)))).scalar_one()
    assert_usd(snapshot_total, "0.300000")
