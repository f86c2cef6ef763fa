"""`GET /analytics/cost` against sums computed here, in plain Python, from the raw snapshot and job rows (never
from the rollups the service reads): every dimension alone and in pairs and triples, every step, windows that
cross a year end, a leap day and month ends, distinct job counts per period and over the window, `limit` with
its `other` row, `fill=zero`, filters, a member's scope through every dimension, CSV equal to JSON row for row,
and the 422s that name their parameter."""

from __future__ import annotations

import csv
import io
import itertools
import json
import random
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.analytics.query_schemas import CostQueryReport
from tests.analytics.conftest import BY_MODEL, BY_TEAM, hours_text, micros_text
from tests.analytics.test_rollups import random_job
from tests.factories import bearer, create_user
from tests.ingestion.conftest import ingest_ok

QUERY = "/api/v1/analytics/cost"
DIMENSIONS = ("team", "model", "gpu_type", "provider", "user", "status", "label:project")
WASTED = {"failed", "cancelled", "preempted"}
PROJECTS = ("assistant", "vision-qa", None)


# The snapshots' energy columns, and every measure of a row in the API's order.
ENERGY = ("energy_mwh", "energy_measured_mwh", "co2e_mg", "co2e_measured_mg", "idle_gpu_us", "idle_cost_micros",
          "util_gpu_us")
MEASURES = ("cost", "gpu_hours", "unpriced_gpu_hours", "wasted_cost", "job_count", "energy_kwh",
            "energy_measured_kwh", "co2e_kg", "co2e_measured_kg", "idle_gpu_hours", "idle_cost",
            "utilization_known_gpu_hours")


def _job(rng: random.Random, job_id: str) -> dict[str, Any]:
    record = random_job(rng, job_id)
    project = rng.choice(PROJECTS)
    if project is not None:
        record["labels"] = {"project": project, "stage": rng.choice(["sft", "eval"])}
    return record


# Runs placed on the calendar's awkward edges: an ISO week that starts in the old year, a leap day, month ends.
EDGE_JOBS = [
    {"job_id": "edge-year-end", "team": "vision", "status": "succeeded", "model_name": "resnet", "gpu_type": "H100",
     "provider": "aws", "user": "ada", "started_at": "2025-12-28T20:00:00Z", "ended_at": "2026-01-05T04:00:00Z"},
    {"job_id": "edge-leap-day", "team": "nlp", "status": "failed", "model_name": "llama", "gpu_type": "H100",
     "provider": "aws", "started_at": "2024-02-28T12:00:00Z", "ended_at": "2024-03-01T06:00:00Z",
     "labels": {"project": "assistant"}},
    {"job_id": "edge-month-end", "team": "speech", "status": "preempted", "gpu_type": "A100-80GB", "gpu_count": 2,
     "provider": "aws", "cost": "1000.000001", "started_at": "2026-01-31T23:00:00Z",
     "ended_at": "2026-02-01T01:00:00Z"},
]


async def snapshot_facts(session: AsyncSession) -> list[dict[str, Any]]:
    """Every snapshot with its job's attributes, as stored."""
    result = await session.execute(text(
        "SELECT s.job_pk, s.day, s.gpu_us, s.cost_micros, s.energy_mwh, s.energy_measured_mwh, s.co2e_mg, "
        "s.co2e_measured_mg, s.idle_gpu_us, s.idle_cost_micros, s.util_gpu_us, j.team_id, t.name AS team, "
        "j.model_name, j.gpu_type, j.provider, j.user_name, j.status, j.labels "
        "FROM cost_snapshots s JOIN jobs j ON j.id = s.job_pk JOIN teams t ON t.id = j.team_id"))
    facts = []
    for row in result:
        labels = row.labels if isinstance(row.labels, dict) else json.loads(row.labels)
        facts.append({"job": str(row.job_pk), "day": date.fromisoformat(str(row.day)[:10]), "gpu_us": row.gpu_us,
                      "cost": row.cost_micros, "team": row.team, "team_id": str(row.team_id).replace("-", ""),
                      "model": row.model_name, "gpu_type": row.gpu_type, "provider": row.provider,
                      "user": row.user_name, "status": row.status, "label:project": labels.get("project"),
                      **{name: getattr(row, name) for name in ENERGY}})
    return facts


def _period(day: date, step: str | None) -> date | None:
    if step is None:
        return None
    if step == "day":
        return day
    if step == "week":
        return day - timedelta(days=day.isocalendar().weekday - 1)
    return day.replace(day=1)


def expected(facts: list[dict[str, Any]], group_by: tuple[str, ...], *, step: str | None = None,
             start: date | None = None, end: date | None = None,
             keep: Any = lambda fact: True) -> tuple[dict[tuple[Any, ...], dict[str, Any]], dict[str, Any]]:
    """Rows keyed by (period start, clipped; group values) and the totals, summed from `facts`."""
    rows: dict[tuple[Any, ...], dict[str, Any]] = defaultdict(lambda: {"cost": 0, "gpu": 0, "unpriced": 0,
                                                                         "wasted": 0, "jobs": set(),
                                                                         **dict.fromkeys(ENERGY, 0)})
    totals = {"cost": 0, "gpu": 0, "unpriced": 0, "wasted": 0, "jobs": set(), **dict.fromkeys(ENERGY, 0)}
    for fact in facts:
        if (start and fact["day"] < start) or (end and fact["day"] > end) or not keep(fact):
            continue
        period = _period(fact["day"], step)
        if period is not None and start is not None:
            period = max(period, start)
        key = (period, *(fact[name] for name in group_by))
        for target in (rows[key], totals):
            target["cost"] += fact["cost"] or 0
            target["gpu"] += fact["gpu_us"]
            target["unpriced"] += fact["gpu_us"] if fact["cost"] is None else 0
            target["wasted"] += (fact["cost"] or 0) if fact["status"] in WASTED else 0
            target["jobs"].add(fact["job"])
            for name in ENERGY:
                target[name] += fact[name]
    return dict(rows), totals


def _text(sums: dict[str, Any]) -> dict[str, Any]:
    return {"cost": micros_text(sums["cost"]), "gpu_hours": hours_text(sums["gpu"]),
            "unpriced_gpu_hours": hours_text(sums["unpriced"]), "wasted_cost": micros_text(sums["wasted"]),
            "job_count": len(sums["jobs"]),
            # mWh and mg are millionths of a kWh and a kg: the 6-place text of micro-USD.
            "energy_kwh": micros_text(sums["energy_mwh"]),
            "energy_measured_kwh": micros_text(sums["energy_measured_mwh"]),
            "co2e_kg": micros_text(sums["co2e_mg"]), "co2e_measured_kg": micros_text(sums["co2e_measured_mg"]),
            "idle_gpu_hours": hours_text(sums["idle_gpu_us"]), "idle_cost": micros_text(sums["idle_cost_micros"]),
            "utilization_known_gpu_hours": hours_text(sums["util_gpu_us"])}


def _answer_rows(body: dict[str, Any], group_by: tuple[str, ...]) -> dict[tuple[Any, ...], dict[str, Any]]:
    found = {}
    for row in body["rows"]:
        assert not row["other"]
        period = date.fromisoformat(row["period_start"]) if body["step"] and row["period_start"] else None
        key = (period, *(row["group"][name] for name in group_by))
        assert key not in found, key
        found[key] = {name: row[name] for name in MEASURES}
    return found


@pytest.fixture
async def facts(client: httpx.AsyncClient, admin_headers: dict[str, str],
                sessionmaker: async_sessionmaker[AsyncSession]) -> list[dict[str, Any]]:
    rng = random.Random(20261205)
    await ingest_ok(client, admin_headers, [_job(rng, f"q-{n}") for n in range(90)] + EDGE_JOBS)
    async with sessionmaker() as session:
        return await snapshot_facts(session)


def _windows(facts: list[dict[str, Any]], rng: random.Random) -> list[tuple[date | None, date | None]]:
    days = sorted({fact["day"] for fact in facts})
    found: list[tuple[date | None, date | None]] = [(None, None), (days[0], None), (None, date(2026, 2, 14)),
                                                    (date(2025, 12, 29), date(2026, 1, 4)),
                                                    (date(2024, 2, 29), date(2024, 2, 29)),
                                                    (date(2026, 1, 15), date(2026, 3, 31)),
                                                    (date(2026, 2, 1), date(2026, 2, 28))]
    return found + [tuple(sorted(rng.sample(days, 2))) for _ in range(3)]


async def _check(client: httpx.AsyncClient, headers: dict[str, str], facts: list[dict[str, Any]],
                 group_by: tuple[str, ...], step: str | None, start: date | None, end: date | None,
                 keep: Any = lambda fact: True, **params: Any) -> dict[str, Any]:
    query: dict[str, Any] = {"group_by": ",".join(group_by), **params}
    if step:
        query["step"] = step
    query |= {name: value.isoformat() for name, value in (("start", start), ("end", end)) if value}
    response = await client.get(QUERY, params=query, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    CostQueryReport.model_validate(body)  # the documented schema (the service encodes its rows by hand)
    rows, totals = expected(facts, group_by, step=step, start=start, end=end, keep=keep)
    assert _answer_rows(body, group_by) == {key: _text(sums) for key, sums in rows.items()}, (group_by, step,
                                                                                              start, end)
    assert body["totals"] == _text(totals), (group_by, step, start, end)
    return body


async def test_every_dimension_and_step_equals_the_snapshots_summed(
    client: httpx.AsyncClient, admin_headers: dict[str, str], facts: list[dict[str, Any]],
) -> None:
    rng = random.Random(11)
    windows = _windows(facts, rng)
    for dimension in DIMENSIONS:
        for step in (None, "day", "week", "month"):
            for start, end in rng.sample(windows, 3) + [(None, None)]:
                await _check(client, admin_headers, facts, (dimension,), step, start, end)
    for group_by in [*itertools.combinations(DIMENSIONS, 2), ("team", "model", "status"),
                     ("gpu_type", "provider", "user"), ("label:project", "team", "status"), ()]:
        step = rng.choice([None, "day", "week", "month"])
        start, end = rng.choice(windows)
        await _check(client, admin_headers, facts, group_by, step, start, end)


async def test_periods_are_iso_weeks_and_calendar_months_clipped_to_the_window(
    client: httpx.AsyncClient, admin_headers: dict[str, str], facts: list[dict[str, Any]],
) -> None:
    # ISO week 1 of 2026 runs Monday 2025-12-29 to Sunday 2026-01-04: the year-end job's days fall in 3 weeks.
    body = await _check(client, admin_headers, facts, ("team",), "week", date(2025, 12, 27), date(2026, 1, 6),
                        keep=lambda fact: fact["team"] == "vision", team="vision")
    assert [(row["period_start"], row["period_end"]) for row in body["rows"]] == [
        ("2025-12-27", "2025-12-28"), ("2025-12-29", "2026-01-04"), ("2026-01-05", "2026-01-06")]
    # February 2024 has 29 days; the leap-day job (failed) is wasted spend on 28 and 29 February and 1 March.
    body = await _check(client, admin_headers, facts, (), "month", date(2024, 2, 1), date(2024, 3, 31))
    assert [(row["period_start"], row["period_end"]) for row in body["rows"]] == [
        ("2024-02-01", "2024-02-29"), ("2024-03-01", "2024-03-31")]
    assert all(row["wasted_cost"] == row["cost"] for row in body["rows"])
    # A run across a month end is split at midnight: each month's row is clipped to the window's day in it.
    body = await _check(client, admin_headers, facts, ("status",), "month", date(2026, 1, 31), date(2026, 2, 1),
                        keep=lambda fact: fact["status"] == "preempted", status="preempted")
    assert [(row["period_start"], row["period_end"]) for row in body["rows"]] == [
        ("2026-01-31", "2026-01-31"), ("2026-02-01", "2026-02-01")]


async def test_windows_that_start_and_end_inside_a_month_read_only_their_days(
    client: httpx.AsyncClient, admin_headers: dict[str, str], member_headers: dict[str, str],
    facts: list[dict[str, Any]],
) -> None:
    # Team × model keeps month cells: a window over part of a month must not read that month's cell.
    windows = [(date(2026, 1, 15), date(2026, 3, 10)), (date(2026, 1, 1), date(2026, 2, 27)),
               (date(2026, 2, 2), date(2026, 3, 31)), (date(2026, 2, 1), date(2026, 2, 28)),
               (date(2026, 1, 20), None), (None, date(2026, 2, 14)), (date(2026, 2, 3), date(2026, 2, 20))]
    for start, end in windows:
        for step in (None, "month"):
            await _check(client, admin_headers, facts, ("team", "model"), step, start, end)
            await _check(client, member_headers, facts, ("model",), step, start, end,
                         keep=lambda fact: fact["team"] == "vision")


async def test_a_job_in_several_periods_counts_once_in_the_totals(
    client: httpx.AsyncClient, admin_headers: dict[str, str], facts: list[dict[str, Any]],
) -> None:
    body = await _check(client, admin_headers, facts, ("model",), "day", date(2025, 12, 28), date(2026, 1, 5),
                        keep=lambda fact: fact["model"] == "resnet", model_name="resnet")
    assert len(body["rows"]) == 9  # the year-end job alone runs on each of the 9 days
    assert sum(row["job_count"] for row in body["rows"]) > body["totals"]["job_count"]


async def test_limit_keeps_the_top_groups_and_sums_the_rest_into_other(
    client: httpx.AsyncClient, admin_headers: dict[str, str], facts: list[dict[str, Any]],
) -> None:
    for order in ("cost", "gpu_hours", "name"):
        full = (await client.get(QUERY, params={"group_by": "team,model", "step": "month", "order": order},
                                 headers=admin_headers)).json()
        top = (await client.get(QUERY, params={"group_by": "team,model", "step": "month", "order": order,
                                               "limit": 2}, headers=admin_headers)).json()
        assert top["totals"] == full["totals"]
        for period in {row["period_start"] for row in full["rows"]}:
            everything = [row for row in full["rows"] if row["period_start"] == period]
            kept = [row for row in top["rows"] if row["period_start"] == period]
            assert kept[:2] == everything[:2]
            if len(everything) > 2:
                other = kept[2]
                assert other["other"] is True and len(kept) == 3
                assert other["group"] == {"team": None, "team_id": None, "model": None}
                for measure in ("cost", "wasted_cost"):
                    assert int(other[measure].replace(".", "")) == sum(
                        int(row[measure].replace(".", "")) for row in everything[2:])
                assert other["job_count"] == sum(row["job_count"] for row in everything[2:])
            else:
                assert kept == everything
        if order == "name":
            names = [(row["group"]["team"], row["group"]["model"] is None, row["group"]["model"] or "")
                     for row in full["rows"] if row["period_start"] == full["rows"][0]["period_start"]]
            assert names == sorted(names, key=lambda n: (n[0].casefold(), n[1], n[2].casefold()))
        else:
            key = "cost" if order == "cost" else "gpu_hours"
            first = [row for row in full["rows"] if row["period_start"] == full["rows"][0]["period_start"]]
            values = [int(row[key].replace(".", "")) for row in first]
            assert values == sorted(values, reverse=True)


async def test_fill_zero_gives_every_period_and_group(
    client: httpx.AsyncClient, admin_headers: dict[str, str], facts: list[dict[str, Any]],
) -> None:
    start, end = date(2026, 3, 25), date(2026, 4, 10)  # the random runs end before April
    body = (await client.get(QUERY, params={"group_by": "team", "step": "day", "fill": "zero",
                                            "start": start.isoformat(), "end": end.isoformat()},
                             headers=admin_headers)).json()
    teams = {row["group"]["team"] for row in body["rows"]}
    days = {row["period_start"] for row in body["rows"]}
    assert days == {(start + timedelta(days=n)).isoformat() for n in range(17)}
    assert len(body["rows"]) == len(days) * len(teams)
    sparse = (await client.get(QUERY, params={"group_by": "team", "step": "day", "start": start.isoformat(),
                                              "end": end.isoformat()}, headers=admin_headers)).json()
    assert [row for row in body["rows"] if row["job_count"]] == [row for row in sparse["rows"]]
    assert all(row["cost"] == "0.000000" and row["gpu_hours"] == "0.000000" for row in body["rows"]
               if row not in sparse["rows"])
    assert body["totals"] == sparse["totals"]


async def test_filters_or_within_a_key_and_across_keys(
    client: httpx.AsyncClient, admin_headers: dict[str, str], facts: list[dict[str, Any]],
) -> None:
    await _check(client, admin_headers, facts, ("model",), "week", None, None,
                 keep=lambda f: f["team"] in ("vision", "nlp") and f["status"] in WASTED,
                 team=["vision", "NLP"], status=["failed", "cancelled", "PREEMPTED"])
    await _check(client, admin_headers, facts, ("team",), None, None, None,
                 keep=lambda f: f["gpu_type"] == "A100-80GB" and f["provider"] == "aws",
                 gpu_type="a100 80gb", provider="AWS")
    await _check(client, admin_headers, facts, ("status",), "month", None, None,
                 keep=lambda f: f["label:project"] in ("assistant", "vision-qa") and f["user"] == "ada",
                 label=["project:assistant", "project:vision-qa"], user="ada")
    await _check(client, admin_headers, facts, ("user",), None, None, None,
                 keep=lambda f: f["label:project"] == "assistant" and f["model"] == "llama",
                 label="project:assistant", model_name="llama")


async def test_by_team_and_by_model_are_views_of_the_query(
    client: httpx.AsyncClient, admin_headers: dict[str, str], facts: list[dict[str, Any]],
) -> None:
    for start, end in _windows(facts, random.Random(3)):
        params = {name: value.isoformat() for name, value in (("start", start), ("end", end)) if value}
        for endpoint, dimension in ((BY_TEAM, "team"), (BY_MODEL, "model")):
            report = (await client.get(endpoint, params=params, headers=admin_headers)).json()
            query = (await client.get(QUERY, params={**params, "group_by": dimension},
                                      headers=admin_headers)).json()
            names = [item["team_name"] if dimension == "team" else item["model_name"] for item in report["items"]]
            assert names == [row["group"][dimension] for row in query["rows"]]
            assert [item["total_cost"] for item in report["items"]] == [row["cost"] for row in query["rows"]]
            assert [item["job_count"] for item in report["items"]] == [row["job_count"] for row in query["rows"]]
            assert (report["total_cost"], report["job_count"]) == (query["totals"]["cost"],
                                                                   query["totals"]["job_count"])


async def test_a_member_sees_its_teams_through_every_dimension(
    client: httpx.AsyncClient, admin_headers: dict[str, str], facts: list[dict[str, Any]],
    sessionmaker: async_sessionmaker[AsyncSession], settings: Any,
) -> None:
    await create_user(sessionmaker, settings, "two@example.test", teams=["vision", "speech"])
    member = await bearer(client, "two@example.test")
    mine = {"vision", "speech"}
    for dimension in DIMENSIONS:
        for step in (None, "month"):
            await _check(client, member, facts, (dimension,), step, None, None,
                         keep=lambda fact: fact["team"] in mine)
    await _check(client, member, facts, ("model", "status"), "week", date(2026, 1, 15), date(2026, 3, 31),
                 keep=lambda fact: fact["team"] == "speech", team="speech")
    for params in ({"team": "nlp"}, {"team": ["vision", "nlp"]}, {"team": "no-such-team"},
                   {"team_id": "00000000-0000-0000-0000-000000000001"}):
        response = await client.get(QUERY, params={**params, "group_by": "user"}, headers=member)
        assert response.status_code == 403, response.text
        assert "nlp" not in response.text


async def test_csv_equals_json_row_for_row(
    client: httpx.AsyncClient, admin_headers: dict[str, str], facts: list[dict[str, Any]],
) -> None:
    params = {"group_by": "team,model,label:project", "step": "week", "start": "2026-01-01", "end": "2026-03-31",
              "limit": "3"}
    body = (await client.get(QUERY, params=params, headers=admin_headers)).json()
    for extra, headers in (({"format": "csv"}, admin_headers), ({}, {**admin_headers, "Accept": "text/csv"})):
        response = await client.get(QUERY, params={**params, **extra}, headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert response.headers["content-disposition"] == (
            'attachment; filename="jobcost-cost_2026-01-01_2026-03-31_by-team-model-label-project_weekly.csv"')
        lines = list(csv.reader(io.StringIO(response.text)))
        assert lines[0] == ["period_start", "period_end", "team", "team_id", "model", "label:project", "other",
                            *MEASURES]
        assert response.text.endswith("\r\n")
        assert len(lines) - 1 == len(body["rows"])
        for line, row in zip(lines[1:], body["rows"], strict=True):
            group = row["group"]
            assert line == [row["period_start"], row["period_end"], group["team"] or "", group["team_id"] or "",
                            group["model"] or "", group["label:project"] or "", str(row["other"]).lower(),
                            *(str(row[name]) for name in MEASURES)]
    explicit = await client.get(QUERY, params={**params, "format": "json"},
                                headers={**admin_headers, "Accept": "text/csv"})
    assert explicit.json() == body


async def test_label_keys_and_values_are_read_exactly_whatever_they_hold(
    client: httpx.AsyncClient, admin_headers: dict[str, str],
) -> None:
    odd = {'a"b\\c': "quoted", "tag:application": "checkout", "stage": " sft"}
    await ingest_ok(client, admin_headers, [
        {"job_id": "odd-labels", "team": "vision", "status": "succeeded", "gpu_type": "H100", "labels": odd,
         "started_at": "2026-01-01T00:00:00Z", "ended_at": "2026-01-01T01:00:00Z"},
        {"job_id": "plain", "team": "vision", "status": "succeeded", "gpu_type": "H100", "labels": {"stage": "sft"},
         "started_at": "2026-01-01T00:00:00Z", "ended_at": "2026-01-01T03:00:00Z"}])
    body = (await client.get(QUERY, params={"group_by": 'label:a"b\\c'}, headers=admin_headers)).json()
    assert {row["group"]['label:a"b\\c']: row["job_count"] for row in body["rows"]} == {"quoted": 1, None: 1}
    body = (await client.get(QUERY, params={"group_by": "label:tag:application"}, headers=admin_headers)).json()
    assert {row["group"]["label:tag:application"] for row in body["rows"]} == {"checkout", None}
    # A value is matched exactly, as /jobs matches it: " sft" (as stored) is not "sft".
    for value, jobs in ((" sft", 1), ("sft", 1)):
        body = (await client.get(QUERY, params={"label": f"stage:{value}"}, headers=admin_headers)).json()
        assert body["totals"]["job_count"] == jobs
        listed = (await client.get("/api/v1/jobs", params={"label": f"stage:{value}"}, headers=admin_headers)).json()
        assert [job["job_id"] for job in listed["jobs"]] == (["odd-labels"] if value == " sft" else ["plain"])


@pytest.mark.parametrize(("accept", "csv_wanted"), [
    ("text/csv", True), ("TEXT/CSV", True), ("text/csv;q=0.9, application/json;q=0.5", True),
    ("text/csv;q=0, application/json", False), ("application/json, text/csv;q=0.5", False),
    ("application/xml", False), ("*/*", False), ("text/*, application/json;q=0.1", False),
])
async def test_accept_is_read_with_its_weights(
    client: httpx.AsyncClient, admin_headers: dict[str, str], accept: str, csv_wanted: bool,
) -> None:
    for path in (QUERY, "/api/v1/jobs"):
        response = await client.get(path, headers={**admin_headers, "Accept": accept})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv" if csv_wanted else "application/json"), (
            path, accept)


async def test_csv_defuses_names_a_spreadsheet_would_run(
    client: httpx.AsyncClient, admin_headers: dict[str, str],
) -> None:
    await ingest_ok(client, admin_headers, [
        {"job_id": "formula", "team": "=HYPERLINK(\"x\")", "status": "succeeded", "model_name": "@sum",
         "gpu_type": "H100", "started_at": "2026-01-01T00:00:00Z", "ended_at": "2026-01-01T01:00:00Z"}])
    response = await client.get(QUERY, params={"group_by": "team,model", "format": "csv"}, headers=admin_headers)
    line = list(csv.reader(io.StringIO(response.text)))[1]
    assert line[2:5:2] == ["'=HYPERLINK(\"x\")", "'@sum"]
    jobs = await client.get("/api/v1/jobs", params={"format": "csv"}, headers=admin_headers)
    rows = list(csv.DictReader(io.StringIO(jobs.text)))
    assert (rows[0]["team"], rows[0]["model_name"]) == ("'=HYPERLINK(\"x\")", "'@sum")


@pytest.mark.parametrize(("params", "loc"), [
    ({"group_by": "region"}, ["query", "group_by"]),
    ({"group_by": "team,Team"}, ["query", "group_by"]),
    ({"group_by": ["team", "team"]}, ["query", "group_by"]),
    ({"group_by": "team,model,user,status"}, ["query", "group_by"]),
    ({"group_by": "label:"}, ["query", "group_by"]),
    ({"step": "year"}, ["query", "step"]),
    ({"fill": "ones"}, ["query", "fill"]),
    ({"order": "cost_desc"}, ["query", "order"]),
    ({"limit": "0"}, ["query", "limit"]),
    ({"limit": "1001"}, ["query", "limit"]),
    ({"format": "xlsx"}, ["query", "format"]),
    ({"start": "2026-02-30"}, ["query", "start"]),
    ({"start": "2026-02-02", "end": "2026-02-01"}, ["query", "end"]),
    ({"status": "exploded"}, ["query", "status", 0]),
    ({"label": "project"}, ["query", "label", 0]),
    ({"label": ":assistant"}, ["query", "label", 0]),
    ({"team_id": "not-a-uuid"}, ["query", "team_id", 0]),
    ({"step": ["day", "week"]}, ["query", "step"]),
    ({"tz": "Europe/Paris"}, ["query", "tz"]),
])
async def test_bad_parameters_are_422_naming_the_parameter(
    client: httpx.AsyncClient, admin_headers: dict[str, str], params: dict[str, Any], loc: list[Any],
) -> None:
    response = await client.get(QUERY, params=params, headers=admin_headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert loc in [error["loc"] for error in response.json()["errors"]], response.json()


async def test_windows_to_the_end_of_the_calendar_and_oversized_answers(
    client: httpx.AsyncClient, admin_headers: dict[str, str], facts: list[dict[str, Any]],
) -> None:
    # "Forever" as an end date reads what there is, on every path (month cells included), without running off
    # the calendar; the window is echoed as asked.
    for params in ({"group_by": "team,model", "end": "9999-12-31"}, {"group_by": "team,model", "step": "month",
                                                                      "start": "0001-01-01", "end": "9999-12-31"},
                   {"step": "week", "start": "9999-12-20", "end": "9999-12-31", "fill": "zero"},
                   {"step": "month", "start": "8999-12-01", "end": "9999-12-31"}):
        response = await client.get(QUERY, params=params, headers=admin_headers)
        assert response.status_code == 200, (params, response.text)
        assert response.json()["end"] == params["end"]
    await _check(client, admin_headers, facts, ("team", "model"), "month", date(1, 1, 1), date(9999, 12, 31))
    # A zero-filled answer of more rows than one request may carry is refused, naming `fill`.
    response = await client.get(QUERY, params={"group_by": "team", "step": "day", "fill": "zero",
                                               "start": "1970-01-01", "end": "9999-12-31"}, headers=admin_headers)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["query", "fill"]


async def test_a_query_over_the_cell_bound_is_refused_not_read(
    client: httpx.AsyncClient, admin_headers: dict[str, str], facts: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.analytics import planner

    monkeypatch.setattr(planner, "MAX_CELLS", 20)
    response = await client.get(QUERY, params={"group_by": "team,user", "step": "day"}, headers=admin_headers)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["query", "group_by"]
    assert (await client.get(QUERY, params={"group_by": "team"}, headers=admin_headers)).status_code == 200
