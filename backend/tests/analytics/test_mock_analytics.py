"""The bundled mock data through the two reports, against the independent reference totals of
`tests/ingestion/test_mock_totals.py` (the reference cost model run straight on `mock_jobs.json` and
`gpu_prices.json`): every team and every model, cost, GPU-hours, unpriced GPU-hours and job count.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from tests.analytics.conftest import BY_MODEL, BY_TEAM, ENDPOINTS, by_name, hours_text, micros_text, report, totals
from tests.ingestion.reference import reference_cost
from tests.ingestion.test_mock_totals import DATA, WINDOW, _reference_totals
from tests.jobs.snapshots import cost_days

MOCK = "/api/v1/admin/ingest/jobs/mock"
LAST_JOB = "sagemaker:llama3-8b-infer-0114"  # 2026-01-14T20:00Z → 2026-01-15T04:00Z, 4 × H100 on aws, estimated


async def load_mock(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await client.post(MOCK, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["failed"] == 0, response.json()


def expected_report(groups: dict[str | None, list[Any]]) -> tuple[tuple[str, str, str, int],
                                                                  dict[str | None, tuple[str, str, str, int]]]:
    """(report totals, items by name) from the reference's {name: [micro-USD, GPU-µs, unpriced GPU-µs, ids]};
    each total is rounded once from the exact sum."""
    items = {name: (micros_text(cost), hours_text(us), hours_text(unpriced), len(ids))
             for name, (cost, us, unpriced, ids) in groups.items()}
    all_ids = set().union(*(ids for *_, ids in groups.values()))
    total = (micros_text(sum(row[0] for row in groups.values())), hours_text(sum(row[1] for row in groups.values())),
             hours_text(sum(row[2] for row in groups.values())), len(all_ids))
    return total, items


async def test_mock_reports_match_the_reference_for_every_team_and_model(
        client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    await load_mock(client, admin_headers)
    expected = _reference_totals()
    window = {"start": WINDOW[0].isoformat(), "end": WINDOW[1].isoformat()}
    assert window == {"start": "2026-01-01", "end": "2026-01-14"}

    for endpoint, key in ((BY_TEAM, "team"), (BY_MODEL, "model")):
        body = await report(client, admin_headers, endpoint, **window)
        want_totals, want_items = expected_report(expected[key])
        assert by_name(body) == want_items, key
        assert totals(body) == want_totals, key
        assert len(body["items"]) == len(want_items)
        # 28 jobs ran in the window (the queued one and the one cancelled before starting never did).
        assert body["job_count"] == 28
        costs = [Decimal(i["total_cost"]) for i in body["items"]]
        assert costs == sorted(costs, reverse=True)
    # Unpriced GPU time (2 × 12 h + 2 × 6 h of RTX-A6000 on-prem) is all Computer Vision's.
    teams = await report(client, admin_headers, BY_TEAM, **window)
    assert teams["unpriced_gpu_hours"] == "36.000000"
    assert {name for name, f in by_name(teams).items() if f[2] != "0.000000"} == {"Computer Vision"}


async def test_mock_last_day_holds_only_the_last_jobs_second_snapshot(
        client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    # On 2026-01-15 only LAST_JOB runs: 00:00–04:00 of 4 H100 = 16 GPU-h at the catalog's aws H100 price, whose
    # day share the reference works out from the two JSON files.
    await load_mock(client, admin_headers)
    raw = next(j for j in json.loads((DATA / "mock_jobs.json").read_text())["jobs"] if j["job_id"] == LAST_JOB)
    catalog = json.loads((DATA / "gpu_prices.json").read_text())
    prices = sorted((datetime.fromisoformat(p["valid_from"]), Decimal(p["usd_per_gpu_hour"]))
                    for p in catalog["prices"] if (p["provider"], p["gpu_type"]) == ("aws", "H100"))
    assert (raw["provider"], raw["gpu_type"], raw["gpu_count"]) == ("aws", "H100", 4)
    ref = reference_cost(datetime.fromisoformat(raw["started_at"]), datetime.fromisoformat(raw["ended_at"]),
                         Decimal(4), None, prices)
    last = ref.days[-1]
    assert last.day.isoformat() == "2026-01-15"
    assert last.gpu_us == 16 * 3_600_000_000
    day15 = (micros_text(last.cost_micros or 0), "16.000000", "0.000000", 1)
    assert day15[0] != "0.000000"

    for params in ({"start": "2026-01-15", "end": "2026-01-15"}, {"start": "2026-01-15"}):
        teams = await report(client, admin_headers, BY_TEAM, **params)
        assert totals(teams) == day15, params
        assert by_name(teams) == {"ML Platform": day15}
        models = await report(client, admin_headers, BY_MODEL, **params)
        assert totals(models) == day15, params
        assert by_name(models) == {"llama-3-8b-inference": day15}

    detail = await client.get(f"/api/v1/jobs/{LAST_JOB}", params={"include": "snapshots"}, headers=admin_headers)
    assert detail.status_code == 200, detail.text
    snapshots = detail.json()["snapshots"]
    assert cost_days(snapshots)[-1] == {"day": "2026-01-15", "gpu_hours": "16.000000", "cost": day15[0]}

    # Before and from the 15th add up to the unbounded window, to the micro-USD.
    for endpoint in ENDPOINTS:
        whole = await report(client, admin_headers, endpoint)
        before = await report(client, admin_headers, endpoint, end="2026-01-14")
        assert Decimal(whole["total_cost"]) == Decimal(before["total_cost"]) + Decimal(day15[0])
        assert whole["job_count"] == before["job_count"] == 28
