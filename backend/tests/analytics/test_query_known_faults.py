"""Known faults F13, F14 and F15 (../shared/cases/known-faults.md) on `GET /analytics/cost`, the route those cases
name: days are UTC days and a `tz` is refused, sums stay exact through every grouping, amounts are 6-place strings
like everywhere else."""

from __future__ import annotations

from typing import Any

import httpx

from tests.ingestion.conftest import ingest_ok, job

QUERY = "/api/v1/analytics/cost"


async def _query(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = await client.get(QUERY, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_f13_days_are_utc_days_and_a_time_zone_is_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str],
) -> None:
    # Three 1-hour jobs of 1.00 USD around New York's DST change: 23:30 EST on Mar 7, 23:30 EDT on Mar 8, 00:30 EDT
    # on Mar 9; in UTC the first is on Mar 8 and the other two on Mar 9.
    runs = (("2026-03-08T04:30:00Z", "2026-03-08T05:30:00Z"), ("2026-03-09T03:30:00Z", "2026-03-09T04:30:00Z"),
            ("2026-03-09T04:30:00Z", "2026-03-09T05:30:00Z"))
    await ingest_ok(client, admin_headers, [job(f"dst-{n}", started_at=start, ended_at=end, cost="1.00")
                                            for n, (start, end) in enumerate(runs)])
    body = await _query(client, admin_headers, step="day", start="2026-03-07", end="2026-03-09")
    assert [(row["period_start"], row["cost"]) for row in body["rows"]] == [("2026-03-08", "1.000000"),
                                                                          ("2026-03-09", "2.000000")]
    response = await client.get(QUERY, params={"step": "day", "tz": "America/New_York"}, headers=admin_headers)
    assert response.status_code == 422
    assert ["query", "tz"] in [error["loc"] for error in response.json()["errors"]]
    response = await client.get(QUERY, params={"group_by": "day"}, headers=admin_headers)
    assert response.status_code == 422
    assert "step=day" in response.json()["errors"][0]["msg"]


async def test_f14_totals_equal_their_breakdowns_to_the_micro_usd(
    client: httpx.AsyncClient, admin_headers: dict[str, str],
) -> None:
    teams = ("vision", "nlp", "speech", "ranking")
    await ingest_ok(client, admin_headers, [job(f"m-{n:03d}", cost="1234.5678", team=teams[n % 4])
                                            for n in range(800)])
    window = {"start": "2026-01-14", "end": "2026-01-14"}
    by_team = await _query(client, admin_headers, group_by="team", **window)
    assert by_team["totals"]["cost"] == "987654.240000"
    assert sorted(row["cost"] for row in by_team["rows"]) == ["246913.560000"] * 4
    by_day = await _query(client, admin_headers, step="day", **window)
    assert [row["cost"] for row in by_day["rows"]] == ["987654.240000"]

    await ingest_ok(client, admin_headers, [job("c-1", cost="0.10", model_name="a"),
                                            job("c-2", cost="0.20", model_name="b"),
                                            job("c-3", cost="0.00", model_name="c")])
    by_model = await _query(client, admin_headers, group_by="model", model_name=["a", "b", "c"], **window)
    assert by_model["totals"]["cost"] == "0.300000"
    assert [row["cost"] for row in by_model["rows"]] == ["0.200000", "0.100000", "0.000000"]


async def test_f15_amounts_are_six_place_strings_as_on_every_endpoint(
    client: httpx.AsyncClient, admin_headers: dict[str, str],
) -> None:
    await ingest_ok(client, admin_headers, [job("dec-1", cost=48.717983, model_name="dec"),
                                            job("dec-2", cost="48.717983", model_name="dec")])
    body = await _query(client, admin_headers, group_by="model")
    assert body["rows"][0]["cost"] == "97.435966"
    detail = (await client.get("/api/v1/jobs/dec-1", headers=admin_headers)).json()
    assert detail["cost"] == "48.717983"
    schema = (await client.get("/openapi.json")).json()["components"]["schemas"]
    assert schema["CostRow"]["properties"]["cost"]["type"] == "string"
