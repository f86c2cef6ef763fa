"""One message per budget, threshold and period, whatever runs the evaluation: two evaluators at once (two engines,
as two uvicorn workers would have) and then a third after a "restart" (a new engine) send each alert once. On a
database of the test's own, with committed data."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

from sqlalchemy import func, select

from app.budgets.runner import run_once
from app.budgets.schemas import BudgetIn
from app.budgets.service import BudgetService
from app.budgets.webhook_schemas import WebhookIn
from app.budgets.webhooks import WebhookService
from app.db.engine import begin_write, create_engine, create_sessionmaker
from app.db.models import AlertEvent, WebhookDelivery
from tests.budgets.conftest import TODAY, day_job
from tests.budgets.receiver import receiver
from tests.conftest import make_settings
from tests.databases import ScratchDatabase
from tests.recost.conftest import ingest


async def test_two_evaluators_at_once_and_a_restart_send_each_alert_once(fresh_db: ScratchDatabase) -> None:
    settings = make_settings(fresh_db.url)
    engines = [create_engine(settings) for _ in range(3)]
    first, second, after_restart = (create_sessionmaker(e) for e in engines)
    try:
        with receiver() as hooks:
            await ingest(first, [day_job("a", "nlp", "2026-01-05", "300"), day_job("b", "nlp", "2026-01-09", "560")])
            async with first() as session:
                await begin_write(session)
                await WebhookService(session).create(WebhookIn(url=hooks.url, secret="x" * 20), "admin@example.test")
                await BudgetService(session).create(BudgetIn(team="nlp", amount=Decimal(1000)), "admin@example.test")
                await session.commit()
            # 860 of 1000: 50 % and 80 % reached, 100 % not.
            reports = await asyncio.gather(run_once(first, settings, today=TODAY),
                                           run_once(second, settings, today=TODAY))
            assert sum(r.evaluation.events for r in reports) == 2
            again = await run_once(after_restart, settings, today=TODAY)
            assert again.evaluation.events == 0 and again.sent.delivered == 0
        assert sorted(json.loads(r.body)["threshold"]["percent"] for r in hooks.requests) == [50, 80]
        async with after_restart() as session:
            assert await session.scalar(select(func.count()).select_from(AlertEvent)) == 2
            states = (await session.execute(select(WebhookDelivery.state, WebhookDelivery.attempt))).all()
        assert sorted((s.value, a) for s, a in states) == [("delivered", 1), ("delivered", 1)]
    finally:
        for engine in engines:
            await engine.dispose()
