"""`GET /analytics/anomalies` on both databases: a planted spike found with its top jobs (in total, per team and
per model), nothing on flat spend, the threshold and floor settings, member scoping, and 422s naming the field."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import httpx
import pytest

from app.main import create_app
from tests.api.problems import assert_problem
from tests.conftest import make_settings
from tests.factories import bearer
from tests.forecasting.conftest import ANOMALIES, day_job, ingest, pattern_jobs

SPIKE = date(2026, 2, 10)
# The extra jobs of the spike day (USD): vision's six, and one of audio's.
VISION_EXTRA = (("x1", "300"), ("x2", "250"), ("x3", "200"), ("x4", "150"), ("x5", "120"), ("x6", "50"))


@pytest.fixture
async def spend(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    """vision spends 100 USD a day and audio 7 from 1 January to 28 February 2026; on 10 February vision runs six
    more jobs (1,070 USD) and audio one of 275 USD (model bert); on 12 February audio spends 8 USD more than
    usual."""
    jobs = (pattern_jobs("vision", date(2026, 1, 1), date(2026, 2, 28), lambda d: Decimal(100))
            + pattern_jobs("audio", date(2026, 1, 1), date(2026, 2, 28),
                           lambda d: Decimal(15) if d == date(2026, 2, 12) else Decimal(7)))
    jobs += [day_job("vision", SPIKE, Decimal(cost), suffix=f"-{name}") for name, cost in VISION_EXTRA]
    jobs.append(day_job("audio", SPIKE, Decimal(275), suffix="-big", model="bert"))
    await ingest(client, admin_headers, jobs)


async def get(client: httpx.AsyncClient, headers: dict[str, str], **params: str) -> dict:
    response = await client.get(ANOMALIES, params={"start": "2026-01-01", "end": "2026-02-28", **params},
                                headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def top(anomaly: dict) -> list[tuple[str, str]]:
    return [(j["job_id"], j["cost"]) for j in anomaly["top_jobs"]]


VISION_TOP = [("vision-2026-02-10-x1", "300.000000"), ("vision-2026-02-10-x2", "250.000000"),
              ("vision-2026-02-10-x3", "200.000000"), ("vision-2026-02-10-x4", "150.000000"),
              ("vision-2026-02-10-x5", "120.000000")]


async def test_a_planted_spike_is_found_with_its_top_jobs(client, admin_headers, spend) -> None:
    by_team = await get(client, admin_headers, group_by="team")
    assert (by_team["threshold"], by_team["min_usd"], by_team["currency"]) == (3.5, "10.000000", "USD")
    found = [(a["day"], a["group"]["team"], a["actual"], a["expected"], a["score"]) for a in by_team["anomalies"]]
    # Flat history: the scale is its floor, 10 % of expected. audio: 275 / 0.7; vision: 1,070 / 10.
    assert found == [("2026-02-10", "audio", "282.000000", "7.000000", 392.86),
                     ("2026-02-10", "vision", "1170.000000", "100.000000", 107.0)]
    assert top(by_team["anomalies"][1]) == VISION_TOP
    assert top(by_team["anomalies"][0]) == [("audio-2026-02-10-big", "275.000000"), ("audio-2026-02-10", "7.000000")]
    assert by_team["anomalies"][0]["top_jobs"][0]["model_name"] == "bert"

    total = await get(client, admin_headers)
    assert [(a["day"], a["group"], a["actual"], a["expected"], a["score"]) for a in total["anomalies"]] == [
        ("2026-02-10", None, "1452.000000", "107.000000", 125.7)]
    assert top(total["anomalies"][0]) == [VISION_TOP[0], ("audio-2026-02-10-big", "275.000000"), *VISION_TOP[1:4]]

    # By model: resnet50-ft (every job but audio's big one) spikes; bert has no history, so it is not judged.
    by_model = await get(client, admin_headers, group_by="model")
    assert [(a["group"], a["actual"], a["expected"]) for a in by_model["anomalies"]] == [
        ({"model": "resnet50-ft"}, "1177.000000", "107.000000")]
    assert top(by_model["anomalies"][0]) == VISION_TOP


async def test_flat_spend_gives_none(client, admin_headers, spend) -> None:
    for group_by in ("team", "model", None):
        params = {"end": "2026-02-09"} | ({"group_by": group_by} if group_by else {})
        assert (await get(client, admin_headers, **params))["anomalies"] == []


async def test_the_threshold_and_floor_settings(client, admin_headers, spend, settings, sessionmaker) -> None:
    async def with_settings(**overrides: object) -> list[tuple[str, str]]:
        application = create_app(make_settings(settings.database_url, **overrides))
        application.state.sessionmaker = sessionmaker
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application),
                                     base_url="http://testserver") as other:
            body = await get(other, admin_headers, group_by="team")
        assert body["threshold"] == overrides.get("anomaly_threshold", 3.5)
        return [(a["day"], a["group"]["team"]) for a in body["anomalies"]]

    # Audio's 12 February is 8 USD over (score 8 / 0.7 = 11.4): under the 10 USD floor, over a 5 USD one.
    assert await with_settings(anomaly_min_usd=Decimal(5)) == [
        ("2026-02-10", "audio"), ("2026-02-10", "vision"), ("2026-02-12", "audio")]
    # A threshold of 200 keeps only audio's spike (392.86), not vision's (107).
    assert await with_settings(anomaly_threshold=200) == [("2026-02-10", "audio")]


async def test_members_see_only_their_teams(client, admin_headers, member_headers, spend) -> None:
    # member_headers: a member of vision only; audio's big job is not among its top jobs.
    total = await get(client, member_headers)
    assert [(a["actual"], a["expected"]) for a in total["anomalies"]] == [("1170.000000", "100.000000")]
    assert top(total["anomalies"][0]) == VISION_TOP
    by_team = await get(client, member_headers, group_by="team")
    assert [a["group"]["team"] for a in by_team["anomalies"]] == ["vision"]
    for params in ({"team": "audio"}, {"team": "nobody-knows"}):
        response = await client.get(ANOMALIES, params={"start": "2026-01-01", "end": "2026-02-28", **params},
                                    headers=member_headers)
        assert_problem(response, 403, "forbidden")
    one = await get(client, admin_headers, team="audio", group_by="team")
    assert [a["group"]["team"] for a in one["anomalies"]] == ["audio"]


@pytest.mark.parametrize(("params", "field"), [
    ({"end": "2026-02-01"}, "start"),
    ({"start": "2026-02-01"}, "end"),
    ({"start": "2026-02-01", "end": "2026-01-31"}, "end"),
    ({"start": "2025-01-01", "end": "2026-01-02"}, "end"),
    ({"start": "2026-02-30", "end": "2026-03-01"}, "start"),
    ({"start": "0001-01-01", "end": "0001-12-31"}, "start"),   # its trailing 28 days fall off the calendar: was a 500
    ({"start": "1969-12-31", "end": "1970-01-31"}, "start"),
    ({"start": "2026-01-01", "end": "2026-01-31", "group_by": "user"}, "group_by"),
    ({"start": "2026-01-01", "end": "2026-01-31", "threshold": "2"}, "threshold"),
])
async def test_bad_input_is_a_422_naming_the_field(client, admin_headers, params, field) -> None:
    body = assert_problem(await client.get(ANOMALIES, params=params, headers=admin_headers), 422)
    assert any(error["loc"][-1] == field for error in body["errors"]), body


async def test_a_member_of_no_team_reads_nothing(client, sessionmaker, settings, spend) -> None:
    from tests.factories import create_user

    await create_user(sessionmaker, settings, "nobody@example.test")
    body = await get(client, await bearer(client, "nobody@example.test"))
    assert body["anomalies"] == []
