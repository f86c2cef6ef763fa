"""`GET /jobs?sort=…`: the listing by `started_at`, `cost` or `gpu_hours`, either direction, jobs without the value
last, ties by `job_id` (code points); cursor pages of every size concatenate to the whole order, and a cursor
continues only the order it was made in. The expected orders are computed here in Python from the records sent.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.api.problems import assert_problem
from tests.ingestion.conftest import ingest_ok, job
from tests.jobs.conftest import ids, list_jobs, list_ok

T0 = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)

# (job_id, started_at offset in hours or None for never started, run hours, billed cost or None: unpriced
# jobs have no catalog price for their GPU type either)
SPECS: list[tuple[str, int | None, int, str | None]] = [
    ("b", 0, 2, "10.00"), ("a", 0, 2, "10.00"), ("c", 1, 1, "30.50"), ("d", -5, 4, None), ("e", -2, 3, "0.99"),
    ("f", 3, 1, None), ("g", -1, 2, "100.00"), ("q-1", None, 0, None), ("Q-2", None, 0, None),
]


def _record(job_id: str, offset: int | None, hours: int, billed: str | None) -> dict[str, Any]:
    if offset is None:
        return job(job_id, status="queued", started_at=None, ended_at=None, cost=None, team="sorting",
                   gpu_type="unknown-gpu")
    start = T0 + timedelta(hours=offset)
    return job(job_id, started_at=start.isoformat().replace("+00:00", "Z"),
               ended_at=(start + timedelta(hours=hours)).isoformat().replace("+00:00", "Z"), cost=billed,
               team="sorting", gpu_type="unknown-gpu")


def expected(sort: str, jobs: dict[str, dict[str, Any]]) -> list[str]:
    """The order `sort` means, from the API's own figures of each job (decimal strings compared as Decimal)."""
    field = sort.lstrip("-")
    descending = sort.startswith("-")

    def value(j: dict[str, Any]) -> Any:
        v = j[field]
        if v is None:
            return None
        return datetime.fromisoformat(v) if field == "started_at" else Decimal(v)

    present = [j for j in jobs.values() if value(j) is not None]
    missing = sorted(j["job_id"] for j in jobs.values() if value(j) is None)
    ordered = sorted(present, key=lambda j: (_negate(value(j)) if descending else value(j), j["job_id"]))
    return [j["job_id"] for j in ordered] + missing


def _negate(value: Any) -> Any:
    return -(value - T0) if isinstance(value, datetime) else -value


@pytest.fixture
async def seeded(client, admin_headers) -> dict[str, dict[str, Any]]:
    report = await ingest_ok(client, admin_headers, [_record(*s) for s in SPECS])
    assert report["created"] == len(SPECS)
    body = await list_ok(client, admin_headers, {"limit": 100, "team": "sorting"})
    return {j["job_id"]: j for j in body["jobs"]}


def test_the_expected_orders_are_what_they_say() -> None:
    fake = {i: {"job_id": i, "cost": c, "gpu_hours": g, "started_at": None}
            for i, c, g in [("x", "2", "1"), ("w", "2", "3"), ("v", None, "2"), ("u", "1", "3")]}
    assert expected("cost", fake) == ["u", "w", "x", "v"]
    assert expected("-cost", fake) == ["w", "x", "u", "v"]
    assert expected("-gpu_hours", fake) == ["u", "w", "v", "x"]


@pytest.mark.parametrize("sort", ["-started_at", "started_at", "-cost", "cost", "-gpu_hours", "gpu_hours"])
async def test_every_sort_pages_through_the_whole_order(client, admin_headers, seeded, sort) -> None:
    want = expected(sort, seeded)
    # The fixture has ties and missing values in every order.
    assert len(want) == len(SPECS)
    first = await list_ok(client, admin_headers, {"limit": 100, "team": "sorting", "sort": sort})
    assert ids(first) == want
    for limit in (1, 2, 4):
        seen: list[str] = []
        body = await list_ok(client, admin_headers, {"limit": limit, "team": "sorting", "sort": sort})
        while True:
            seen += ids(body)
            if body["next_cursor"] is None:
                break
            body = await list_ok(client, admin_headers, {"limit": limit, "team": "sorting", "sort": sort,
                                                         "cursor": body["next_cursor"]})
        assert seen == want, (sort, limit)
        skipped = await list_ok(client, admin_headers, {"limit": limit, "skip": limit, "team": "sorting",
                                                         "sort": sort})
        assert ids(skipped) == want[limit:2 * limit]


async def test_the_cost_order_by_hand(client, admin_headers, seeded) -> None:
    body = await list_ok(client, admin_headers, {"limit": 100, "team": "sorting", "sort": "-cost"})
    assert ids(body) == ["g", "c", "a", "b", "e", "Q-2", "d", "f", "q-1"]


async def test_a_cursor_continues_only_its_own_sort(client, admin_headers, seeded) -> None:
    body = await list_ok(client, admin_headers, {"limit": 2, "team": "sorting", "sort": "cost"})
    for other in ({"sort": "-cost"}, {}, {"sort": "gpu_hours"}):
        response = await list_jobs(client, admin_headers, {"limit": 2, "team": "sorting",
                                                           "cursor": body["next_cursor"], **other})
        problem = assert_problem(response, 422, "validation-error")
        assert [e["loc"] for e in problem["errors"]] == [["query", "cursor"]]
    default = await list_ok(client, admin_headers, {"limit": 2, "team": "sorting"})
    explicit = await list_ok(client, admin_headers, {"limit": 2, "team": "sorting", "sort": "-started_at",
                                                     "cursor": default["next_cursor"]})
    assert ids(explicit) == expected("-started_at", seeded)[2:4]


async def test_the_csv_export_follows_the_sort(client, admin_headers, seeded) -> None:
    response = await list_jobs(client, admin_headers, {"format": "csv", "team": "sorting", "sort": "gpu_hours"})
    assert response.status_code == 200
    lines = response.text.splitlines()[1:]
    assert [line.split(",")[0] for line in lines] == expected("gpu_hours", seeded)
