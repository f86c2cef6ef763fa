"""`GET /analytics/forecast` on both databases: totals against the patterns summed here, the period's edges,
member scoping, and the 422s that name their parameter."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import httpx
import pytest

from app.forecasting.method import METHOD_FLAT, METHOD_FULL, METHOD_NONE
from tests.api.problems import assert_problem
from tests.factories import bearer, create_user
from tests.forecasting.conftest import AUDIO, FORECAST, VISION, days, ingest, pattern_jobs, usd


def vision(day: date) -> Decimal:
    return VISION[day.weekday()]


def audio(day: date) -> Decimal:
    return AUDIO[day.weekday()]


@pytest.fixture
async def patterns(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    """vision and audio spend their weekly patterns every day from 1 January to 10 April 2026."""
    await ingest(client, admin_headers, pattern_jobs("vision", date(2026, 1, 1), date(2026, 4, 10), vision)
                 + pattern_jobs("audio", date(2026, 1, 1), date(2026, 4, 10), audio))


async def get(client: httpx.AsyncClient, headers: dict[str, str], **params: str) -> dict:
    response = await client.get(FORECAST, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def check(body: dict, period: tuple[date, date], as_of: date, cost: object) -> None:
    """The report against the pattern `cost` (a function of the day) summed here."""
    first, last = period
    assert (body["period_start"], body["period_end"], body["as_of"]) == (first.isoformat(), last.isoformat(),
                                                                          as_of.isoformat())
    actual = [{"day": d.isoformat(), "cost": usd(cost(d))} for d in days(first, as_of)]
    expected = [{"day": d.isoformat(), "cost": usd(cost(d))} for d in days(as_of, last)[1:]]
    assert body["daily_actual"] == actual
    assert body["daily_expected"] == expected
    assert body["actual_to_date"] == usd(sum((cost(d) for d in days(first, as_of)), Decimal(0)))
    assert body["expected_total"] == usd(sum((cost(d) for d in days(first, last)), Decimal(0)))
    assert body["method"] == METHOD_FULL
    assert body["interval_level"] == "0.80"
    assert Decimal(body["interval_low"]) <= Decimal(body["expected_total"]) <= Decimal(body["interval_high"])
    assert body["currency"] == "USD"


async def test_a_weekday_pattern_gives_the_exact_month(client, admin_headers, patterns) -> None:
    body = await get(client, admin_headers, period="month", as_of="2026-02-10")
    check(body, (date(2026, 2, 1), date(2026, 2, 28)), date(2026, 2, 10), lambda d: vision(d) + audio(d))
    one = await get(client, admin_headers, period="month", as_of="2026-02-10", team="Vision")
    check(one, (date(2026, 2, 1), date(2026, 2, 28)), date(2026, 2, 10), vision)
    assert one["history_days"] == 28


@pytest.mark.parametrize(("as_of", "period", "bounds"), [
    (date(2026, 3, 1), "month", (date(2026, 3, 1), date(2026, 3, 31))),  # the first day of the month
    (date(2026, 3, 31), "month", (date(2026, 3, 1), date(2026, 3, 31))),  # its last: nothing left to expect
    (date(2026, 4, 1), "quarter", (date(2026, 4, 1), date(2026, 6, 30))),  # the first day of a quarter
    (date(2026, 2, 14), "quarter", (date(2026, 1, 1), date(2026, 3, 31))),
])
async def test_period_boundaries(client, admin_headers, patterns, as_of, period, bounds) -> None:
    body = await get(client, admin_headers, period=period, as_of=as_of.isoformat(), team="audio")
    check(body, bounds, as_of, audio)


async def test_members_see_only_their_teams(client, admin_headers, member_headers, patterns) -> None:
    # member_headers: a member of vision only.
    mine = await get(client, member_headers, as_of="2026-03-15")
    check(mine, (date(2026, 3, 1), date(2026, 3, 31)), date(2026, 3, 15), vision)
    for params in ({"team": "audio"}, {"team": "no-such-team"}):
        assert_problem(await client.get(FORECAST, params={**params, "as_of": "2026-03-15"}, headers=member_headers),
                       403, "forbidden")
    audio_id = next(item["team_id"] for item in (await client.get(
        "/api/v1/analytics/cost/by-team", headers=admin_headers)).json()["items"] if item["team_name"] == "audio")
    assert_problem(await client.get(FORECAST, params={"team_id": audio_id}, headers=member_headers), 403)


async def test_little_or_no_history(client, admin_headers, sessionmaker, settings) -> None:
    # A new team: 30, 60 and 90 USD on the three days before as_of, 5 so far on as_of.
    spend = {date(2026, 5, 7): Decimal(30), date(2026, 5, 8): Decimal(60), date(2026, 5, 9): Decimal(90),
             date(2026, 5, 10): Decimal(5)}
    await ingest(client, admin_headers, pattern_jobs("newbies", date(2026, 5, 7), date(2026, 5, 10),
                                                     lambda d: spend.get(d, Decimal(0))))
    body = await get(client, admin_headers, as_of="2026-05-10", team="newbies")
    assert body["method"] == METHOD_FLAT
    assert body["history_days"] == 3
    # The flat rate is the mean of the three days: 60 USD for each of the 21 days left.
    assert {item["cost"] for item in body["daily_expected"]} == {"60.000000"}
    assert body["expected_total"] == usd(Decimal(185 + 21 * 60))
    assert Decimal(body["interval_low"]) <= Decimal(body["expected_total"]) <= Decimal(body["interval_high"])

    # Nothing at all: the actual only. A member of no team reads nothing, without an error.
    await create_user(sessionmaker, settings, "nobody@example.test")
    nobody = await bearer(client, "nobody@example.test")
    for headers in (nobody, admin_headers):
        empty = await get(client, headers, as_of="2025-06-15")
        assert (empty["method"], empty["expected_total"], empty["interval_low"], empty["interval_high"]) == (
            METHOD_NONE, "0.000000", "0.000000", "0.000000")
        assert len(empty["daily_expected"]) == 15


async def test_the_interval_widens_with_noise(client, admin_headers) -> None:
    # A 5-day cycle: no weekly shape explains it, so the residuals are not zero.
    costs = [Decimal(c) for c in (80, 120, 95, 130, 70)]
    await ingest(client, admin_headers, pattern_jobs("noisy", date(2026, 1, 1), date(2026, 3, 31),
                                                     lambda d: costs[d.toordinal() % 5]))
    body = await get(client, admin_headers, as_of="2026-03-10", team="noisy")
    assert Decimal(body["interval_low"]) < Decimal(body["expected_total"]) < Decimal(body["interval_high"])
    assert Decimal(body["actual_to_date"]) < Decimal(body["interval_low"])


async def test_as_of_defaults_to_today(client, admin_headers) -> None:
    body = await get(client, admin_headers, period="quarter")
    today = date.fromisoformat(body["as_of"])
    assert date.fromisoformat(body["period_start"]) <= today <= date.fromisoformat(body["period_end"])


@pytest.mark.parametrize(("params", "field"), [
    ({"period": "week"}, "period"),
    ({"as_of": "2026-13-01"}, "as_of"),
    ({"as_of": "1767225600"}, "as_of"),
    ({"as_of": "0001-01-01"}, "as_of"),   # its 28 days of history fall off the calendar: was a 500
    ({"as_of": "1969-12-31"}, "as_of"),
    ({"as_of": "9999-12-31"}, "as_of"),   # the period's end falls off the calendar: was a 500
    ({"team_id": "not-a-uuid"}, "team_id"),
    ({"tz": "Europe/Paris"}, "tz"),
])
async def test_bad_input_is_a_422_naming_the_field(client, admin_headers, params, field) -> None:
    body = assert_problem(await client.get(FORECAST, params=params, headers=admin_headers), 422)
    assert any(error["loc"][-1] == field for error in body["errors"]), body


async def test_a_parameter_given_twice_is_a_422(client, admin_headers) -> None:
    response = await client.get(FORECAST + "?period=month&period=quarter", headers=admin_headers)
    assert_problem(response, 422)
