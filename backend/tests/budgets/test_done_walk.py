"""Issue 14's "done": an admin sets a monthly budget for a team (default thresholds 50, 80, 100 %); ingesting jobs
that take the month's forecast (`app.forecasting`, the real one) past 80 % of the budget sends exactly one signed
webhook. (The forecast is past 50 % from the start: that alert goes out at the first evaluation, before.) The
budget's amount is set from the forecast read before the crossing ingest, so the test does not depend on the
method's details: the crossing job adds 100 USD (an ordinary day, not an anomaly) on the last actual day, which
the forecast total counts as is (today's spend is actual, not forecast)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest

from app.budgets import service as budget_service
from app.budgets.runner import run_once
from app.db.models import Team
from app.forecasting.service import forecast_period
from tests.budgets.conftest import API, day_job
from tests.budgets.receiver import receiver
from tests.budgets.test_alerts import SECRET, WEBHOOKS, expected_signature
from tests.conftest import make_settings
from tests.ingestion.conftest import ingest_ok

TODAY = date(2026, 1, 8)


@pytest.mark.real_forecast
async def test_crossing_80_percent_of_the_forecast_sends_one_signed_webhook(client, admin_headers,
                                                                          monkeypatch) -> None:
    monkeypatch.setattr(budget_service, "today", lambda: TODAY)
    sessionmaker = client._transport.app.state.sessionmaker
    history = [day_job(f"h-{i}", "nlp", (TODAY - timedelta(days=i)).isoformat(), "100.00") for i in range(1, 29)]
    await ingest_ok(client, admin_headers, history)
    async with sessionmaker() as session:
        nlp = (await session.execute(Team.__table__.select().where(Team.name_key == "nlp"))).one()
        before = await forecast_period(session, period="month", team_ids={nlp.id}, today=TODAY)
    # 80 % of the amount lies 40 USD above the forecast total: not reached yet, reached once 100 USD more is spent.
    amount = ((before.expected_total + 40) / Decimal("0.8")).quantize(Decimal("0.01"))
    assert amount * Decimal("0.5") > before.actual_to_date + 100  # 50 % stays out of reach of actual spend

    with receiver() as hooks:
        created = await client.post(WEBHOOKS, json={"url": hooks.url, "secret": SECRET}, headers=admin_headers)
        assert created.status_code == 201, created.text
        budget = await client.post(f"{API}/admin/budgets", json={"team": "nlp", "period": "month",
                                                                 "amount": str(amount)}, headers=admin_headers)
        assert budget.status_code == 201, budget.text
        await run_once(sessionmaker, make_settings("sqlite://"))  # the timer: the 50 % (forecast) alert only
        assert [json.loads(r.body)["threshold"]["percent"] for r in hooks.requests] == [50]
        await ingest_ok(client, admin_headers, [day_job("today-1", "nlp", TODAY.isoformat(), "100.00")])
        await ingest_ok(client, admin_headers, [day_job("today-1", "nlp", TODAY.isoformat(), "100.00")])  # again
        await run_once(sessionmaker, make_settings("sqlite://"))
    fifty, request = hooks.requests  # exactly one more: the 80 % alert
    assert json.loads(fifty.body)["kind"] == "forecast"
    assert request.headers["x-jobcost-signature"] == expected_signature(request.body)
    alert = json.loads(request.body)
    assert (alert["kind"], alert["threshold"]["percent"], alert["budget"]["team"]) == ("forecast", 80, "nlp")
    assert Decimal(alert["forecast"]["expected_total"]) == before.expected_total + 100
    assert Decimal(alert["actual"]) == before.actual_to_date + 100
