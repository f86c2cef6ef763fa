"""The access matrix: every caller against every read endpoint, then every foreign, unknown and own team filter.

Admins read every team; a member reads only its teams' jobs and costs, and a member of no team reads nothing (an
empty answer, not an error). A member's `team_id` or `team` filter on a team it is not in is a 403, also for a team
that does not exist (no probing of names); for an admin an unknown team is an empty answer. A read token reads as
an admin would (every team) or as a member of its teams would.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select

from app.db.models import Role, User
from app.db.models.user import team_members
from tests.access.conftest import (
    ADMIN,
    ALL_JOB_IDS,
    ANA,
    ANALYTICS,
    AUDIO,
    BY_MODEL,
    BY_TEAM,
    CALLERS,
    CY,
    FILTERED,
    JOBS,
    NLP,
    RECORDS,
    SCOPED,
    TEAMS,
    VISION,
    Expected,
    Figures,
    Matrix,
    email,
    expected_figures,
    ghost_team_id,
    readable_teams,
)
from tests.api.problems import assert_problem
from tests.factories import bearer, create_user

WINDOWS = {"all-days": (None, None), "jan-07-to-10": (date(2026, 1, 7), date(2026, 1, 10))}
BY_ID = {r.job_id: r for r in RECORDS}


def usd(value: Decimal) -> str:
    return f"{value:.6f}"


async def list_all(client: httpx.AsyncClient, headers: dict[str, str], params: dict[str, str] | None = None,
                   limit: int = 2) -> tuple[list[str], int]:
    """Every job_id of `GET /jobs` with `params`, page by page (`limit` a page), and the `total` (the same on
    every page)."""
    seen: list[str] = []
    totals: set[int] = set()
    skip = 0
    while True:
        response = await client.get(JOBS, params={**(params or {}), "skip": skip, "limit": limit}, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        totals.add(page["total"])
        seen.extend(j["job_id"] for j in page["jobs"])
        assert page["has_more"] is (skip + len(page["jobs"]) < page["total"]), page
        if not page["has_more"]:
            break
        assert len(page["jobs"]) == limit
        skip += limit
        assert skip <= len(RECORDS), "paging does not end"
    assert len(totals) == 1, totals
    assert len(seen) == len(set(seen)), seen
    return seen, totals.pop()


def expected_order(job_ids: set[str]) -> list[str]:
    """`started_at` descending, then job_id (every record started)."""
    by_id = sorted(job_ids)
    return sorted(by_id, key=lambda j: BY_ID[j].started, reverse=True)


def window_params(window: tuple[date | None, date | None]) -> dict[str, str]:
    start, end = window
    return {k: v.isoformat() for k, v in (("start", start), ("end", end)) if v is not None}


def assert_figures(item: dict[str, Any], figures: Figures, *, cost_key: str = "total_cost",
                   hours_key: str = "gpu_hours") -> None:
    assert item[cost_key] == usd(figures.cost), (item, figures)
    assert item[hours_key] == usd(figures.gpu_hours), (item, figures)
    assert item["unpriced_gpu_hours"] == usd(Decimal(0)), item
    assert item["job_count"] == len(figures.jobs), (item, figures)


def assert_totals(report: dict[str, Any], expected: Expected, window: tuple[date | None, date | None]) -> None:
    start, end = window
    assert report["start"] == (start.isoformat() if start else None)
    assert report["end"] == (end.isoformat() if end else None)
    assert report["currency"] == "USD"
    assert_figures(report, expected.total, hours_key="total_gpu_hours")


def assert_by_team(report: dict[str, Any], expected: Expected, matrix: Matrix,
                   window: tuple[date | None, date | None]) -> None:
    assert_totals(report, expected, window)
    order = sorted(expected.by_team, key=lambda t: (-expected.by_team[t].cost, t))
    assert [i["team_name"] for i in report["items"]] == order, report
    for item in report["items"]:
        assert item["team_id"] == matrix.team_ids[item["team_name"]], item
        assert_figures(item, expected.by_team[item["team_name"]])


def assert_by_model(report: dict[str, Any], expected: Expected, window: tuple[date | None, date | None]) -> None:
    assert_totals(report, expected, window)
    order = sorted(expected.by_model, key=lambda m: (-expected.by_model[m].cost, m))
    assert [i["model_name"] for i in report["items"]] == order, report
    for item in report["items"]:
        assert_figures(item, expected.by_model[item["model_name"]])


def assert_empty_report(report: dict[str, Any]) -> None:
    assert report["items"] == []
    assert (report["total_cost"], report["total_gpu_hours"], report["unpriced_gpu_hours"], report["job_count"]) == (
        "0.000000", "0.000000", "0.000000", 0), report


# --- every caller, every read endpoint ------------------------------------------------------------------------


@pytest.mark.parametrize("caller", CALLERS)
async def test_the_job_list_holds_exactly_the_callers_teams_jobs(client, matrix: Matrix, caller: str) -> None:
    visible = matrix.job_ids_of(caller)

    for limit in (2, 50):
        listed, total = await list_all(client, matrix.headers[caller], limit=limit)
        assert listed == expected_order(visible), (caller, limit)
        assert total == len(visible)

    response = await client.get(JOBS, headers=matrix.headers[caller])
    assert response.status_code == 200, response.text
    page = response.json()
    for listed_job in page["jobs"]:
        record = BY_ID[listed_job["job_id"]]
        assert listed_job["team"] == {"id": matrix.team_ids[record.team], "name": record.team}
        assert listed_job["cost"] == usd(record.cost)
    if caller == "dee":  # a member of no team: nothing, and no error
        assert (page["jobs"], page["total"], page["has_more"]) == ([], 0, False)


@pytest.mark.parametrize("caller", CALLERS)
async def test_a_job_is_readable_only_within_the_callers_teams(client, matrix: Matrix, caller: str) -> None:
    headers = matrix.headers[caller]
    missing_id = "no-such-job"
    missing = await client.get(f"{JOBS}/{missing_id}", headers=headers)
    missing_body = assert_problem(missing, 404, "not-found")
    visible = matrix.job_ids_of(caller)

    for record in RECORDS:
        for suffix in ("", "?include=snapshots"):
            response = await client.get(f"{JOBS}/{record.job_id}{suffix}", headers=headers)
            if record.job_id in visible:
                assert response.status_code == 200, (caller, record.job_id, response.text)
                body = response.json()
                assert body["job_id"] == record.job_id
                assert body["team"] == {"id": matrix.team_ids[record.team], "name": record.team}
                assert body["cost"] == usd(record.cost)
                if suffix:
                    days = record.per_day()
                    assert [(s["day"], s["cost"]) for s in body["snapshots"]] == [
                        (d.isoformat(), usd(c)) for d, (c, _) in sorted(days.items())]
            else:
                # Indistinguishable from a job that does not exist: same status, headers and body but for the id.
                body = assert_problem(response, 404, "not-found")
                assert set(body) == set(missing_body)
                assert {k: v for k, v in body.items() if k != "detail"} == {
                    k: v for k, v in missing_body.items() if k != "detail"}
                assert body["detail"].replace(repr(record.job_id), "<id>") == missing_body["detail"].replace(
                    repr(missing_id), "<id>")
                assert record.job_id not in response.text.replace(f"{record.job_id!r}", "")
                assert response.headers["content-type"] == missing.headers["content-type"]
                assert "www-authenticate" not in response.headers


@pytest.mark.parametrize("window", WINDOWS.values(), ids=WINDOWS.keys())
@pytest.mark.parametrize("caller", CALLERS)
async def test_cost_by_team_sums_only_the_callers_teams(client, matrix: Matrix, caller: str,
                                                         window: tuple[date | None, date | None]) -> None:
    response = await client.get(BY_TEAM, params=window_params(window), headers=matrix.headers[caller])

    assert response.status_code == 200, response.text
    expected = matrix.expected(caller, *window)
    assert_by_team(response.json(), expected, matrix, window)
    assert {i["team_name"] for i in response.json()["items"]} <= set(matrix.teams_of(caller))
    if caller == "dee":
        assert_empty_report(response.json())


@pytest.mark.parametrize("window", WINDOWS.values(), ids=WINDOWS.keys())
@pytest.mark.parametrize("caller", CALLERS)
async def test_cost_by_model_sums_only_the_callers_teams(client, matrix: Matrix, caller: str,
                                                          window: tuple[date | None, date | None]) -> None:
    response = await client.get(BY_MODEL, params=window_params(window), headers=matrix.headers[caller])

    assert response.status_code == 200, response.text
    assert_by_model(response.json(), matrix.expected(caller, *window), window)
    if caller == "dee":
        assert_empty_report(response.json())


async def test_the_expected_figures_are_what_the_records_say() -> None:
    """The hand-checkable anchor of every expectation above (no database)."""
    everything = expected_figures(TEAMS)
    assert {t: f.cost for t, f in everything.by_team.items()} == {
        "nlp": Decimal("152.695678"), "vision": Decimal("72.50"), "audio": Decimal("999.99")}
    assert {t: f.gpu_hours for t, f in everything.by_team.items()} == {
        "nlp": Decimal(27), "vision": Decimal(35), "audio": Decimal(10)}
    assert everything.by_model["llama-3-8b"].cost == Decimal("1148.84")
    window = expected_figures((NLP, VISION), date(2026, 1, 7), date(2026, 1, 10))
    assert window.total.cost == Decimal("96.395678")  # half of nlp-002, nlp/003, vision-001
    assert window.total.jobs == {"nlp-002", "nlp/003", "vision-001"}
    assert set(ALL_JOB_IDS) == {r.job_id for r in RECORDS}


# --- team filters ---------------------------------------------------------------------------------------------


def forbidden(response: httpx.Response, context: object) -> None:
    assert response.status_code == 403, (context, response.status_code, response.text)
    assert_problem(response, 403, "forbidden")
    assert "www-authenticate" not in response.headers


@pytest.mark.parametrize("caller", SCOPED)
async def test_a_member_filtering_on_a_team_it_is_not_in_is_forbidden(client, matrix: Matrix, caller: str) -> None:
    headers = matrix.headers[caller]
    filters: list[dict[str, str]] = []
    for team in matrix.foreign_teams(caller):
        filters += [{"team_id": matrix.team_ids[team]}, {"team": team}, {"team": f"  {team.upper()} "}]
    # A team that does not exist is forbidden too: a member cannot tell it from another team's.
    filters += [{"team_id": ghost_team_id()}, {"team": "ghost"}]
    for own in readable_teams(caller):  # an own team does not make a foreign one readable
        foreign = matrix.foreign_teams(caller)[0]
        filters += [{"team_id": matrix.team_ids[own], "team": foreign},
                    {"team_id": matrix.team_ids[foreign], "team": own},
                    {"team_id": matrix.team_ids[own], "team": "ghost"},
                    {"team_id": ghost_team_id(), "team": own}]

    for endpoint in FILTERED:
        for params in filters:
            forbidden(await client.get(endpoint, params=params, headers=headers), (caller, endpoint, params))
    # The 403 for an existing foreign team and for a missing one are the same answer.
    foreign = matrix.foreign_teams(caller)[0]
    for endpoint in FILTERED:
        for real, ghost in (({"team": foreign}, {"team": "ghost"}),
                            ({"team_id": matrix.team_ids[foreign]}, {"team_id": ghost_team_id()})):
            real_response = await client.get(endpoint, params=real, headers=headers)
            ghost_response = await client.get(endpoint, params=ghost, headers=headers)
            assert real_response.json() == ghost_response.json(), (endpoint, real)
            assert real_response.headers["content-type"] == ghost_response.headers["content-type"]


async def test_an_admin_filtering_on_an_unknown_team_gets_an_empty_answer(client, matrix: Matrix) -> None:
    headers = matrix.headers[ADMIN]
    for params in ({"team_id": ghost_team_id()}, {"team": "ghost"},
                   # two filters naming two different teams match nothing
                   {"team_id": matrix.team_ids[NLP], "team": VISION}):
        listed, total = await list_all(client, headers, params)
        assert (listed, total) == ([], 0), params
        for endpoint in ANALYTICS:
            response = await client.get(endpoint, params=params, headers=headers)
            assert response.status_code == 200, (endpoint, params, response.text)
            assert_empty_report(response.json())


OWN_TEAM_CASES = [(c, t) for c in CALLERS for t in readable_teams(c)]


@pytest.mark.parametrize(("caller", "team"), OWN_TEAM_CASES)
async def test_filtering_on_a_readable_team_reads_that_team_only(client, matrix: Matrix, caller: str,
                                                                  team: str) -> None:
    headers = matrix.headers[caller]
    expected = expected_figures([team])
    team_ids = {r.job_id for r in RECORDS if r.team == team}
    window = (None, None)
    for params in ({"team_id": matrix.team_ids[team]}, {"team": f" {team.upper()} "},
                   {"team_id": matrix.team_ids[team], "team": team}):
        listed, total = await list_all(client, headers, params)
        assert listed == expected_order(team_ids), params
        assert total == len(team_ids)

        response = await client.get(BY_TEAM, params=params, headers=headers)
        assert response.status_code == 200, response.text
        assert_by_team(response.json(), expected, matrix, window)
        assert [i["team_name"] for i in response.json()["items"]] == [team]

        response = await client.get(BY_MODEL, params=params, headers=headers)
        assert response.status_code == 200, response.text
        assert_by_model(response.json(), expected, window)


async def test_a_member_of_two_teams_filtering_on_both_gets_nothing_not_a_403(client, matrix: Matrix) -> None:
    """`team_id` of one own team and `team` of the other: both readable, so an empty answer."""
    params = {"team_id": matrix.team_ids[NLP], "team": VISION}
    listed, total = await list_all(client, matrix.headers[CY], params)
    assert (listed, total) == ([], 0)
    for endpoint in ANALYTICS:
        response = await client.get(endpoint, params=params, headers=matrix.headers[CY])
        assert response.status_code == 200, response.text
        assert_empty_report(response.json())


# --- the scope follows the user, not the token ------------------------------------------------------------------


async def test_an_admin_who_is_also_in_a_team_still_reads_every_team(client, matrix: Matrix, sessionmaker,
                                                                     settings) -> None:
    await create_user(sessionmaker, settings, "admin2@access.test", role=Role.admin, teams=[NLP])
    headers = await bearer(client, "admin2@access.test")

    listed, total = await list_all(client, headers)
    assert set(listed) == set(ALL_JOB_IDS) and total == len(RECORDS)
    response = await client.get(BY_TEAM, params={"team": AUDIO}, headers=headers)
    assert response.status_code == 200, response.text
    assert_by_team(response.json(), expected_figures([AUDIO]), matrix, (None, None))
    assert (await client.get(f"{JOBS}/audio-001", headers=headers)).status_code == 200


async def test_a_member_removed_from_its_team_stops_reading_it_with_the_same_token(client, matrix: Matrix,
                                                                                  sessionmaker) -> None:
    headers = matrix.headers[ANA]
    assert (await client.get(f"{JOBS}/nlp-001", headers=headers)).status_code == 200
    async with sessionmaker() as session:
        ana_id = (await session.execute(select(User.id).where(User.email == email(ANA)))).scalar_one()
        await session.execute(delete(team_members).where(team_members.c.user_id == ana_id))
        await session.commit()

    listed, total = await list_all(client, headers)
    assert (listed, total) == ([], 0)
    assert_problem(await client.get(f"{JOBS}/nlp-001", headers=headers), 404, "not-found")
    for endpoint in ANALYTICS:
        response = await client.get(endpoint, headers=headers)
        assert response.status_code == 200, response.text
        assert_empty_report(response.json())
        forbidden(await client.get(endpoint, params={"team": NLP}, headers=headers), endpoint)
    forbidden(await client.get(JOBS, params={"team_id": matrix.team_ids[NLP]}, headers=headers), JOBS)
