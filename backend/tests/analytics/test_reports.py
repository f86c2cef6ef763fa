"""The two reports, `GET /analytics/cost/by-team` and `/by-model`: totals against their items, order (ties on cost,
names differing only in case, the null model), 6-place strings, team filters and scope, and request validation
(F13: the API is UTC-only and refuses `tz`; F29: a bad window is a 422 naming the field, never a 500).

Rounding rule (DESIGN.md "Storage rules"): every figure is rounded half-even once, to 6 places, from its exact sum.
Costs are exact integers of micro-USD, so a total cost always equals the sum of its items. GPU-hours are exact
integers of GPU-microseconds, and a millionth of a GPU-hour is 3,600 of them, so each item and the total are
rounded separately: the items' sum may differ from the total by up to half a millionth per item.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import httpx

from tests.analytics.conftest import (
    BY_MODEL,
    BY_TEAM,
    EMPTY,
    ENDPOINTS,
    by_name,
    decimal_sum,
    figures,
    hours_text,
    report,
    totals,
)
from tests.api.problems import assert_problem, assert_unauthenticated
from tests.ingestion.conftest import ingest_ok, job

JAN14 = {"start": "2026-01-14", "end": "2026-01-14"}


async def ingest_all(client: httpx.AsyncClient, headers: dict[str, str], jobs: list[dict[str, Any]]) -> None:
    result = await ingest_ok(client, headers, jobs)
    assert result["failed"] == 0 and result["errors"] == [], result


def one_hour(job_id: str, **fields: Any) -> dict[str, Any]:
    """A 1-GPU, 1-hour job on 2026-01-14 (1 GPU-h), with `fields` replaced."""
    base: dict[str, Any] = {"gpu_count": 1, "started_at": "2026-01-14T08:00:00Z", "ended_at": "2026-01-14T09:00:00Z"}
    return job(job_id, **{**base, **fields})


# --- totals against items ----------------------------------------------------------------------------------------

async def test_totals_are_the_exact_sums_of_the_items(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    # Per team (model m-<team>): a billed 1-GPU hour, plus 20 s of 1 unpriced GPU (no cost, no H100 price on the
    # test provider). Costs 0.000001 / 1234.567891 / 0.333333 → total 1234.901225, exactly the items' sum.
    # GPU time per team: 3,620 GPU-s = 1.00555… GPU-h → "1.005556"; in all 10,860 GPU-s = 3.01666… → "3.016667",
    # while the three rounded items add up to 3.016668: the total is rounded once from the exact sum.
    # Unpriced: 20 s = 0.00555… → "0.005556" each, 60 s = 1/60 → "0.016667" in all.
    costs = {"alpha": "0.000001", "Beta": "1234.567891", "gamma": "0.333333"}
    jobs = []
    for team, cost in costs.items():
        jobs.append(one_hour(f"sum-{team}-billed", team=team, model_name=f"m-{team}", cost=cost))
        jobs.append(job(f"sum-{team}-unpriced", team=team, model_name=f"m-{team}", gpu_count=1, cost=None,
                        started_at="2026-01-14T10:00:00Z", ended_at="2026-01-14T10:00:20Z"))
    await ingest_all(client, admin_headers, jobs)

    for endpoint, prefix in ((BY_TEAM, ""), (BY_MODEL, "m-")):
        body = await report(client, admin_headers, endpoint, **JAN14)
        items = body["items"]
        assert totals(body) == ("1234.901225", "3.016667", "0.016667", 6)
        assert Decimal(body["total_cost"]) == decimal_sum(i["total_cost"] for i in items)
        assert body["job_count"] == sum(i["job_count"] for i in items)
        assert body["total_gpu_hours"] == hours_text(3 * 3_620 * 1_000_000)
        assert decimal_sum(i["gpu_hours"] for i in items) == Decimal("3.016668")
        assert abs(decimal_sum(i["gpu_hours"] for i in items) - Decimal(body["total_gpu_hours"])) \
            <= Decimal("0.0000005") * len(items)
        assert by_name(body) == {
            f"{prefix}Beta": ("1234.567891", "1.005556", "0.005556", 2),
            f"{prefix}gamma": ("0.333333", "1.005556", "0.005556", 2),
            f"{prefix}alpha": ("0.000001", "1.005556", "0.005556", 2),
        }
        assert [i.get("team_name", i.get("model_name")) for i in items] == [
            f"{prefix}Beta", f"{prefix}gamma", f"{prefix}alpha"]


async def test_amounts_are_six_place_strings_even_for_zero_and_large_values(
        client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    # Zero, whole thousands (never "1E+3") and a fractional GPU (0.5 × 1 h = "0.500000").
    await ingest_all(client, admin_headers, [
        one_hour("fmt-zero", team="zero", model_name="zero", cost="0.00"),
        one_hour("fmt-thousand", team="thousand", model_name="thousand", cost="1000"),
        one_hour("fmt-half", team="half", model_name="half", cost="0.1", gpu_count="0.5"),
    ])
    for endpoint in ENDPOINTS:
        body = await report(client, admin_headers, endpoint)
        assert totals(body) == ("1000.100000", "2.500000", "0.000000", 3)
        assert by_name(body) == {"thousand": ("1000.000000", "1.000000", "0.000000", 1),
                                 "half": ("0.100000", "0.500000", "0.000000", 1),
                                 "zero": ("0.000000", "1.000000", "0.000000", 1)}
        assert body["currency"] == "USD"


async def test_f14b_small_costs_sum_exactly(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    # F14 (b): 0.10 + 0.20 + 0.00 is 0.300000, not 0.30000000000000004.
    await ingest_all(client, admin_headers, [one_hour(f"tenth-{i}", model_name=f"m{i}", cost=cost)
                                             for i, cost in enumerate(("0.10", "0.20", "0.00"))])
    for endpoint in ENDPOINTS:
        assert (await report(client, admin_headers, endpoint))["total_cost"] == "0.300000"


# --- order --------------------------------------------------------------------------------------------------------

async def test_teams_sort_by_cost_then_name_case_insensitively(
        client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    # Team names compare case-folded, so two teams cannot differ only in case; ties on cost are broken by name
    # regardless of case: apple < Banana < cherry (a byte order would put "Banana" first).
    await ingest_all(client, admin_headers, [
        one_hour("ord-cherry", team="cherry", cost="5.00"),
        one_hour("ord-aardvark", team="Aardvark", cost="1.00"),
        one_hour("ord-banana", team="Banana", cost="5.00"),
        one_hour("ord-zulu", team="zulu", cost="7.00"),
        one_hour("ord-apple", team="apple", cost="5.00"),
    ])
    body = await report(client, admin_headers, BY_TEAM)
    assert [(i["team_name"], i["total_cost"]) for i in body["items"]] == [
        ("zulu", "7.000000"), ("apple", "5.000000"), ("Banana", "5.000000"), ("cherry", "5.000000"),
        ("Aardvark", "1.000000")]
    assert len({i["team_id"] for i in body["items"]}) == 5


async def test_models_sort_by_cost_then_name_with_null_last_among_equal_costs(
        client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    # Cost 5: "Alpha", "zeta" and the no-model group → Alpha, zeta, then null (last among equal costs).
    # Cost 3: "Llama" and "llama" are two models (model names are exact), next to each other.
    # Cost 2: "beta" last, though it sorts first by name.
    await ingest_all(client, admin_headers, [
        one_hour("mod-zeta", model_name="zeta", cost="5.00"),
        one_hour("mod-null-1", model_name=None, cost="2.00"),
        one_hour("mod-null-2", model_name=None, cost="3.00"),
        one_hour("mod-beta", model_name="beta", cost="2.00"),
        one_hour("mod-llama-lower", model_name="llama", cost="3.00"),
        one_hour("mod-alpha", model_name="Alpha", cost="5.00"),
        one_hour("mod-llama-upper", model_name="Llama", cost="3.00"),
    ])
    body = await report(client, admin_headers, BY_MODEL)
    names = [i["model_name"] for i in body["items"]]
    assert names[:3] == ["Alpha", "zeta", None]
    assert set(names[3:5]) == {"Llama", "llama"}
    assert names[5:] == ["beta"]
    assert [i["total_cost"] for i in body["items"]] == ["5.000000"] * 3 + ["3.000000"] * 2 + ["2.000000"]
    null_group = body["items"][2]
    assert figures(null_group) == ("5.000000", "2.000000", "0.000000", 2)
    # The order of the two case variants is fixed, not left to the database.
    for _ in range(2):
        again = await report(client, admin_headers, BY_MODEL)
        assert [i["model_name"] for i in again["items"]] == names
    assert totals(body) == ("23.000000", "7.000000", "0.000000", 7)  # 5 + 5 + (2 + 3) + 3 + 3 + 2


async def test_null_model_group_sorts_by_its_cost(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    await ingest_all(client, admin_headers, [
        one_hour("nul-a", model_name="aaa", cost="1.00"),
        one_hour("nul-b", model_name=None, cost="9.00"),
        one_hour("nul-c", model_name="ccc", cost="4.00"),
    ])
    body = await report(client, admin_headers, BY_MODEL)
    assert [(i["model_name"], i["total_cost"]) for i in body["items"]] == [
        (None, "9.000000"), ("ccc", "4.000000"), ("aaa", "1.000000")]


# --- team filters and scope ------------------------------------------------------------------------------------

async def _three_teams(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, str]:
    """vision: 64.00 (resnet50-ft); NLP Research: 10.00 (bert) + 1.00 (resnet50-ft); ml: 3.00 (whisper).
    Returns team name → team id."""
    await ingest_all(client, headers, [
        job("flt-vision"),
        one_hour("flt-nlp-1", team="NLP Research", model_name="bert", cost="10.00"),
        one_hour("flt-nlp-2", team="NLP Research", cost="1.00"),
        one_hour("flt-ml", team="ml", model_name="whisper", cost="3.00"),
    ])
    body = await report(client, headers, BY_TEAM)
    return {i["team_name"]: i["team_id"] for i in body["items"]}


async def test_team_filter_by_id_and_by_name(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    ids = await _three_teams(client, admin_headers)
    assert set(ids) == {"vision", "NLP Research", "ml"}
    nlp = ("11.000000", "2.000000", "0.000000", 2)

    for params in ({"team_id": ids["NLP Research"]}, {"team": "NLP Research"}, {"team": "  nlp RESEARCH "},
                   {"team": "nlp research", "team_id": ids["NLP Research"]}):
        teams = await report(client, admin_headers, BY_TEAM, **params)
        assert totals(teams) == nlp, params
        assert [(i["team_id"], i["team_name"]) for i in teams["items"]] == [(ids["NLP Research"], "NLP Research")]
        models = await report(client, admin_headers, BY_MODEL, **params)
        assert totals(models) == nlp, params
        assert by_name(models) == {"bert": ("10.000000", "1.000000", "0.000000", 1),
                                   "resnet50-ft": ("1.000000", "1.000000", "0.000000", 1)}

    vision = await report(client, admin_headers, BY_TEAM, team_id=ids["vision"], **JAN14)
    assert totals(vision) == ("64.000000", "32.000000", "0.000000", 1)
    assert (vision["start"], vision["end"]) == ("2026-01-14", "2026-01-14")


async def test_unknown_or_contradictory_team_gives_an_empty_report_for_an_admin(
        client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    ids = await _three_teams(client, admin_headers)
    for params in ({"team": "nobody"}, {"team_id": str(uuid.uuid4())},
                   {"team_id": ids["vision"], "team": "ml"}):
        for endpoint in ENDPOINTS:
            body = await report(client, admin_headers, endpoint, **params)
            assert totals(body) == EMPTY, (endpoint, params)
            assert body["items"] == [], (endpoint, params)


async def test_member_sees_only_its_teams_and_is_refused_a_foreign_team(
        client: httpx.AsyncClient, admin_headers: dict[str, str], member_headers: dict[str, str]) -> None:
    # The member belongs to "vision" only: its unfiltered reports hold vision's job alone; a filter naming any
    # other team — existing or not — is a 403.
    ids = await _three_teams(client, admin_headers)
    for endpoint in ENDPOINTS:
        body = await report(client, member_headers, endpoint)
        assert totals(body) == ("64.000000", "32.000000", "0.000000", 1)
        assert len(body["items"]) == 1
        assert totals(await report(client, member_headers, endpoint, team="VISION")) == totals(body)
        for params in ({"team": "NLP Research"}, {"team_id": ids["ml"]}, {"team": "nobody"},
                       {"team_id": str(uuid.uuid4())}):
            response = await client.get(endpoint, params=params, headers=member_headers)
            assert_problem(response, 403, "forbidden")


# --- request validation -------------------------------------------------------------------------------------------

BAD_QUERIES: list[tuple[dict[str, str], list[str]]] = [
    # F29: the cross-field check is request validation (422 naming `end`), not a 500.
    ({"start": "2026-01-15", "end": "2026-01-10"}, ["query", "end"]),
    ({"start": "yesterday"}, ["query", "start"]),
    ({"start": "2026-1-5"}, ["query", "start"]),
    ({"start": "1700000000"}, ["query", "start"]),  # an epoch: its day depends on a time zone
    ({"start": "2026-02-30"}, ["query", "start"]),  # no such day
    ({"start": "2026-01-05T00:00:00Z"}, ["query", "start"]),
    ({"start": ""}, ["query", "start"]),
    ({"end": "2026-13-01"}, ["query", "end"]),
    ({"end": "2026-01-10", "start": "2026-01-11"}, ["query", "end"]),
    # F13: jobcost's days are UTC days; a time zone is refused, not silently ignored.
    ({"tz": "America/New_York", "start": "2026-03-07", "end": "2026-03-09"}, ["query", "tz"]),
    ({"group_by": "day"}, ["query", "group_by"]),
    ({"team_id": "not-a-uuid"}, ["query", "team_id"]),
    ({"team": ""}, ["query", "team"]),
]


async def test_bad_queries_are_422_naming_the_field(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    await ingest_all(client, admin_headers, [job("valid-one")])
    for endpoint in ENDPOINTS:
        for params, loc in BAD_QUERIES:
            response = await client.get(endpoint, params=params, headers=admin_headers)
            body = assert_problem(response, 422, "validation-error")
            locs = [e["loc"] for e in body["errors"]]
            assert loc in locs, (endpoint, params, locs)
            for error in body["errors"]:
                assert set(error) == {"loc", "msg", "type"}, error  # the submitted value is not echoed
    # The same day as start and end is a one-day window, not a reversed one.
    for endpoint in ENDPOINTS:
        assert totals(await report(client, admin_headers, endpoint, **JAN14))[0] == "64.000000"


async def test_reports_need_a_token(client: httpx.AsyncClient) -> None:
    for endpoint in ENDPOINTS:
        assert_unauthenticated(await client.get(endpoint))
        assert_unauthenticated(await client.get(endpoint, headers={"Authorization": "Bearer not-a-token"}))


async def test_an_impossible_date_is_named_as_such(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    for value in ("2026-02-30", "2026-13-01", "2026-00-10"):
        response = await client.get(BY_TEAM, params={"start": value}, headers=admin_headers)
        body = assert_problem(response, 422, "validation-error")
        assert [(e["loc"], e["type"]) for e in body["errors"]] == [(["query", "start"], "date_range")], value
