"""The daily rollups always equal the cost snapshots they sum: after creating, re-sending, changing (team, model,
GPU type, provider, times, cost) and deleting jobs, on both databases; and the reports read from them count each
job once in a window, as the distinct jobs of the snapshots would.

The expected cells are computed here in Python from the raw snapshot and job rows, not by the app's SQL."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.analytics.conftest import BY_MODEL, BY_TEAM
from tests.ingestion.conftest import TEST_PROVIDER, ingest_ok

SPLIT = 1_000_000
# The snapshots' energy figures and the rollup columns that sum them (two parts each).
ENERGY = {"energy_mwh": "energy", "energy_measured_mwh": "energy_measured", "co2e_mg": "co2e",
          "co2e_measured_mg": "co2e_measured", "idle_gpu_us": "idle_gpu", "idle_cost_micros": "idle_cost",
          "util_gpu_us": "util_gpu"}
SUMS = ("cost_hi", "cost_lo", "gpu_hi", "gpu_lo", "unpriced_hi", "unpriced_lo", "wasted_hi", "wasted_lo",
        "job_count", "jobs_started", *(f"{name}_{part}" for name in ENERGY.values() for part in ("hi", "lo")))
GRAINS = {
    "daily_team_costs": ("day", "team_id"),
    "daily_model_costs": ("day", "model_key"),
    "daily_status_costs": ("day", "status_key"),
    "daily_gpu_costs": ("day", "gpu_type_key", "provider_key"),
    "daily_team_status_costs": ("day", "team_id", "status_key"),
    "daily_team_gpu_costs": ("day", "team_id", "gpu_type_key", "provider_key"),
    "daily_team_model_costs": ("day", "team_id", "model_key"),
    "monthly_team_model_costs": ("month", "team_id", "model_key"),
    "daily_usage_costs": ("day", "team_id", "model_key", "gpu_type_key", "provider_key", "user_key", "status_key"),
}
WASTED = {"failed", "cancelled", "preempted"}
TEAMS = ("vision", "nlp", "speech")
MODELS = ("resnet", "llama", None)
GPUS = ("H100", "A100-80GB", "no-such-gpu", None)
PROVIDERS = (TEST_PROVIDER, "aws", None)
USERS = ("ada", "grace", "alan")


def _uuid(value: Any) -> str:
    return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


async def snapshot_rows(session: AsyncSession) -> list[dict[str, Any]]:
    result = await session.execute(text(
        "SELECT s.job_pk, s.day, s.gpu_us, s.cost_micros, s.energy_mwh, s.energy_measured_mwh, s.co2e_mg, "
        "s.co2e_measured_mg, s.idle_gpu_us, s.idle_cost_micros, s.util_gpu_us, j.team_id, j.model_name, "
        "j.gpu_type, j.provider, j.user_name, j.status "
        "FROM cost_snapshots s JOIN jobs j ON j.id = s.job_pk"))
    return [dict(row._mapping) | {"day": _day(row.day), "team_id": _uuid(row.team_id)} for row in result]


def expected_cells(rows: list[dict[str, Any]]) -> dict[str, dict[tuple[Any, ...], dict[str, int]]]:
    """Every grain summed from the snapshot rows, by plain Python arithmetic: a day cell counts the jobs with a
    snapshot that day, a month cell each job once per month."""
    first_day: dict[Any, date] = {}
    for row in rows:
        first_day[row["job_pk"]] = min(first_day.get(row["job_pk"], row["day"]), row["day"])
    cells: dict[str, dict[tuple[Any, ...], dict[str, int]]] = {name: defaultdict(lambda: dict.fromkeys(SUMS, 0))
                                                              for name in GRAINS}
    month_jobs: dict[tuple[Any, ...], set[Any]] = defaultdict(set)
    for row in rows:
        keys = {"day": row["day"], "month": row["day"].replace(day=1), "team_id": row["team_id"],
                "model_key": row["model_name"] or "", "gpu_type_key": row["gpu_type"] or "",
                "provider_key": row["provider"] or "", "user_key": row["user_name"] or "",
                "status_key": row["status"]}
        cost, gpu = row["cost_micros"], row["gpu_us"]
        unpriced = gpu if cost is None else 0
        wasted = (cost or 0) if row["status"] in WASTED else 0
        parts = {"cost_hi": (cost or 0) // SPLIT, "cost_lo": (cost or 0) % SPLIT, "gpu_hi": gpu // SPLIT,
                 "gpu_lo": gpu % SPLIT, "unpriced_hi": unpriced // SPLIT, "unpriced_lo": unpriced % SPLIT,
                 "wasted_hi": wasted // SPLIT, "wasted_lo": wasted % SPLIT,
                 "job_count": 1, "jobs_started": int(row["day"] == first_day[row["job_pk"]])}
        for column, name in ENERGY.items():
            parts[f"{name}_hi"], parts[f"{name}_lo"] = divmod(row[column], SPLIT)
        for name, key_names in GRAINS.items():
            key = tuple(keys[k] for k in key_names)
            cell = cells[name][key]
            for column, value in parts.items():
                cell[column] += value
            if key_names[0] == "month":  # a job counts once in a month cell
                cell["job_count"] -= 1
                if row["job_pk"] not in month_jobs[(name, key)]:
                    month_jobs[(name, key)].add(row["job_pk"])
                    cell["job_count"] += 1
    return {name: dict(found) for name, found in cells.items()}


async def stored_cells(session: AsyncSession) -> dict[str, dict[tuple[Any, ...], dict[str, int]]]:
    """The rollup tables as stored; a cell whose jobs all left must hold zeros and is then left out."""
    cells: dict[str, dict[tuple[Any, ...], dict[str, int]]] = {}
    for name, key_names in GRAINS.items():
        columns = ", ".join((*key_names, *SUMS))  # names from the constants above, not input
        result = await session.execute(text(f"SELECT {columns} FROM {name}"))  # noqa: S608
        found = {}
        for row in result:
            values = {column: int(getattr(row, column)) for column in SUMS}
            keys = tuple(_day(getattr(row, k)) if k in ("day", "month") else _uuid(row.team_id) if k == "team_id"
                         else getattr(row, k) for k in key_names)
            if values["job_count"] == 0:
                assert set(values.values()) == {0}, (name, keys, values)
                continue
            found[keys] = values
        cells[name] = found
    return cells


async def assert_rollups_match(sessionmaker: async_sessionmaker[AsyncSession]) -> list[dict[str, Any]]:
    async with sessionmaker() as session:
        rows = await snapshot_rows(session)
        assert await stored_cells(session) == expected_cells(rows)
    return rows


def random_job(rng: random.Random, job_id: str) -> dict[str, Any]:
    minute = rng.choice(["00", "30"])
    start = f"2026-0{rng.randint(1, 3)}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{minute}:00Z"
    kind = rng.random()
    record: dict[str, Any] = {"job_id": job_id, "team": rng.choice(TEAMS),
                              "status": rng.choice(["succeeded", "succeeded", "failed", "cancelled", "preempted"]),
                              "gpu_count": str(rng.choice([1, 2, 8, "0.5"])), "started_at": start}
    if rng.random() < 0.7:
        record["user"] = rng.choice(USERS)
    for field, choices in (("model_name", MODELS), ("gpu_type", GPUS), ("provider", PROVIDERS)):
        value = rng.choice(choices)
        if value is not None:
            record[field] = value
    hours = rng.choice([0, 1, 5, 23, 30, 49, 24 * 6 + 7])
    end_hour = int(start[11:13]) + hours
    started = date.fromisoformat(start[:10])
    ended = started + timedelta(days=end_hour // 24)
    record["ended_at"] = f"{ended.isoformat()}T{end_hour % 24:02d}:{start[14:16]}:00Z"
    if kind < 0.3:
        record["cost"] = f"{rng.randint(0, 10**6)}.{rng.randint(0, 999999):06d}"
    elif kind < 0.4:
        record = {"job_id": job_id, "team": rng.choice(TEAMS), "status": "queued"}
    elif kind < 0.5:
        record["status"] = "running"
        record["observed_at"] = record.pop("ended_at")
    extra = rng.random()  # the energy fields: measured, utilisation, region (known, or not in the coefficients)
    if record["status"] != "queued":
        if extra < 0.3:
            record["energy_kwh"] = f"{rng.randint(0, 5000)}.{rng.randint(0, 999999):06d}"
        if extra > 0.5:
            record["gpu_utilization"] = f"0.{rng.randint(0, 9999):04d}"
        if extra > 0.2:
            record["region"] = rng.choice(["us-east-1", "eu-north-1", "nowhere"])
    return record


async def test_rollups_equal_the_snapshots_through_creates_changes_and_deletes(
    client: httpx.AsyncClient, admin_headers: dict[str, str], sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    rng = random.Random(20261129)
    jobs = {f"r-{n}": random_job(rng, f"r-{n}") for n in range(80)}
    report = await ingest_ok(client, admin_headers, list(jobs.values()))
    assert report["created"] == 80, report
    rows = await assert_rollups_match(sessionmaker)
    assert rows, "some jobs have snapshots"

    report = await ingest_ok(client, admin_headers, list(jobs.values()))
    assert report["unchanged"] == 80, report
    await assert_rollups_match(sessionmaker)

    for round_ in range(3):
        for job_id in rng.sample(sorted(jobs), 25):  # new team, model, times, cost…: a whole new record
            jobs[job_id] = random_job(rng, job_id)
        new = {f"r-{round_}-{n}": random_job(rng, f"r-{round_}-{n}") for n in range(10)}
        jobs.update(new)
        await ingest_ok(client, admin_headers, list(jobs.values()))
        await assert_rollups_match(sessionmaker)
        for job_id in rng.sample(sorted(jobs), 5):
            response = await client.delete(f"/api/v1/admin/jobs/{job_id}", headers=admin_headers)
            assert response.status_code == 204, response.text
            del jobs[job_id]
        await assert_rollups_match(sessionmaker)

    # Every job moved to one team and model: the old cells empty out (zeros, not listed), the new ones hold all.
    for record in jobs.values():
        record["team"], record["model_name"] = "speech", "llama"
    await ingest_ok(client, admin_headers, list(jobs.values()))
    rows = await assert_rollups_match(sessionmaker)
    assert {(row["team_id"], row["model_name"]) for row in rows} == {(rows[0]["team_id"], "llama")}


async def test_reports_count_each_job_once_per_window_as_the_snapshots_do(
    client: httpx.AsyncClient, admin_headers: dict[str, str], sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    rng = random.Random(7)
    jobs = [random_job(rng, f"w-{n}") for n in range(120)]
    await ingest_ok(client, admin_headers, jobs)
    rows = await assert_rollups_match(sessionmaker)
    days = sorted({row["day"] for row in rows})
    windows = [(None, None), (days[0], None), (None, days[-1])]
    windows += [tuple(sorted(rng.sample(days, 2))) for _ in range(12)] + [(d, d) for d in rng.sample(days, 4)]
    for start, end in windows:
        inside = [row for row in rows if (start is None or row["day"] >= start) and (end is None or row["day"] <= end)]
        by_team: dict[str, set[Any]] = defaultdict(set)
        by_model: dict[str | None, set[Any]] = defaultdict(set)
        for row in inside:
            by_team[row["team_id"]].add(row["job_pk"])
            by_model[row["model_name"]].add(row["job_pk"])
        params = {key: value.isoformat() for key, value in (("start", start), ("end", end)) if value is not None}
        team_report = (await client.get(BY_TEAM, params=params, headers=admin_headers)).json()
        assert {item["team_id"]: item["job_count"] for item in team_report["items"]} == {
            team: len(pks) for team, pks in by_team.items()}, (start, end)
        model_report = (await client.get(BY_MODEL, params=params, headers=admin_headers)).json()
        assert {item["model_name"]: item["job_count"] for item in model_report["items"]} == {
            model: len(pks) for model, pks in by_model.items()}, (start, end)
        assert team_report["job_count"] == model_report["job_count"] == len({row["job_pk"] for row in inside})
