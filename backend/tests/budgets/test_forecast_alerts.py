"""Thresholds reached by the forecast total: alerted once (kind `forecast`) before actual spend gets there, and
again (kind `actual`) when it does. Forecasting is `app.forecasting`'s; here it is replaced by a stub whose total
the test sets, so that the moment each alert must fire is known exactly. A forecast that fails leaves the budget's
actual figures and alerts standing."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from app.budgets import spend
from tests.budgets.conftest import API, TODAY, day_job
from tests.budgets.receiver import receiver
from tests.budgets.test_alerts import SECRET, WEBHOOKS, expected_signature
from tests.ingestion.conftest import ingest_ok


@dataclass
class _Forecast:
    expected_total: Decimal
    interval_low: Decimal
    interval_high: Decimal
    interval_level: Decimal = Decimal("0.80")
    method: str = "stub"


@pytest.fixture
def forecast_total(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    state: dict[str, Any] = {"total": Decimal(0), "calls": []}

    async def forecast_period(session: Any, *, period: str, team_ids: Any, today: Any = None) -> _Forecast:
        state["calls"].append((period, team_ids, today))
        if state["total"] is None:
            raise RuntimeError("forecasting is down")
        return _Forecast(state["total"], state["total"] - 50, state["total"] + 50)

    monkeypatch.setattr(spend, "_forecasting", lambda: SimpleNamespace(forecast_period=forecast_period))
    return state


async def test_the_forecast_alerts_before_actual_spend_does(client, admin_headers, forecast_total) -> None:
    with receiver() as hooks:
        await ingest_ok(client, admin_headers, [day_job("seed", "nlp", "2026-01-02", "0.00")])
        assert (await client.post(WEBHOOKS, json={"url": hooks.url, "secret": SECRET},
                                  headers=admin_headers)).status_code == 201
        budget = (await client.post(f"{API}/admin/budgets", json={"team": "nlp", "amount": "1000",
                                                                  "thresholds": [80, 100]},
                                    headers=admin_headers)).json()
        forecast_total["total"] = Decimal("799.999999")  # just under 80 %
        await ingest_ok(client, admin_headers, [day_job("a", "nlp", "2026-01-05", "300")])
        assert hooks.requests == []
        forecast_total["total"] = Decimal("800")  # 80 % of the forecast: one alert
        await ingest_ok(client, admin_headers, [day_job("b", "nlp", "2026-01-06", "110")])
        assert len(hooks.requests) == 1
        forecast_total["total"] = Decimal("900")  # still 80 %, not 100 %: nothing new
        await ingest_ok(client, admin_headers, [day_job("c", "nlp", "2026-01-07", "10")])
        assert len(hooks.requests) == 1
        forecast_total["total"] = Decimal("1700")  # actual 820: 80 % reached; the forecast reaches 100 %
        await ingest_ok(client, admin_headers, [day_job("d", "nlp", "2026-01-08", "400")])
        assert len(hooks.requests) == 3

    documents = [json.loads(r.body) for r in hooks.requests]
    assert [(d["kind"], d["threshold"]["percent"]) for d in documents[:1]] == [("forecast", 80)]
    assert sorted((d["kind"], d["threshold"]["percent"]) for d in documents[1:]) == [("actual", 80), ("forecast", 100)]
    first = documents[0]
    assert (first["actual"], first["forecast"]["expected_total"], first["budget"]["id"]) == (
        "410.000000", "800.000000", budget["id"])
    assert "forecast total 800.000000 USD" in first["text"]
    for request in hooks.requests:
        assert request.headers["x-jobcost-signature"] == expected_signature(request.body)
    (period, team_ids, today) = forecast_total["calls"][-1]
    assert (period, today, team_ids) == ("month", TODAY, frozenset({uuid.UUID(budget["team_id"])}))

    (shown,) = (await client.get(f"{API}/budgets", headers=admin_headers)).json()["budgets"]
    assert shown["forecast"]["expected_total"] == "1700.000000"
    assert [(t["percent"], t["state"]) for t in shown["threshold_states"]] == [
        (80, "crossed-actual"), (100, "crossed-forecast")]
    assert all(t["crossed_at"] for t in shown["threshold_states"])


async def test_a_failing_forecast_leaves_the_actual_figures(client, admin_headers, forecast_total) -> None:
    forecast_total["total"] = None
    await ingest_ok(client, admin_headers, [day_job("a", "nlp", "2026-01-05", "900")])
    await client.post(f"{API}/admin/budgets", json={"team": "nlp", "amount": "1000"}, headers=admin_headers)
    (shown,) = (await client.get(f"{API}/budgets", headers=admin_headers)).json()["budgets"]
    assert (shown["actual"], shown["forecast"]) == ("900.000000", None)
    assert [t["state"] for t in shown["threshold_states"]] == ["crossed-actual", "crossed-actual", "ok"]
