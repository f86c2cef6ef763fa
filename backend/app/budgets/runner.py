"""When budgets are evaluated and alerts sent: after each ingest that changed figures (a background task run once
the ingest's transaction is committed and its answer sent, so it never slows or fails the ingest), and on a timer
inside the service (`JOBCOST_ALERTS_INTERVAL_SECONDS`, 0: none). Each run evaluates (`evaluation.Evaluator`, under
the evaluators' lock) and then sends what is due (`delivery.deliver_due`). Failures are logged, never raised."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.budgets import service as budget_service
from app.budgets.delivery import Sent, deliver_due
from app.budgets.evaluation import Evaluation, Evaluator
from app.core.config import Settings

logger = logging.getLogger("jobcost.alerts")


@dataclass(frozen=True, slots=True)
class RunReport:
    evaluation: Evaluation
    sent: Sent


async def evaluate(sessionmaker: async_sessionmaker[AsyncSession], today: date | None = None) -> Evaluation:
    """One evaluation in a session of its own, committed (it writes only when there is a new alert)."""
    async with sessionmaker() as session:
        result = await Evaluator(session).evaluate(today or budget_service.today())
        await session.commit()
    return result


async def run_once(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, *,
                   today: date | None = None, **send: Any) -> RunReport:
    """Evaluate, then send the deliveries due (`send`: `now`, `client` for `deliver_due`)."""
    evaluation = await evaluate(sessionmaker, today)
    return RunReport(evaluation, await deliver_due(sessionmaker, settings, **send))


async def run_quietly(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    """`run_once`, logging instead of raising: for the background task and the timer."""
    try:
        report = await run_once(sessionmaker, settings)
    except Exception:
        logger.exception("evaluating budgets and sending alerts failed; the next run will try again")
        return
    if report.evaluation.events or report.sent != Sent():
        logger.info("alerts: %d new event(s), %d delivery(ies) queued; sent %s", report.evaluation.events,
                    report.evaluation.deliveries, report.sent)


def schedule_after_ingest(background: Any, state: Any, changed: int) -> None:
    """Add an evaluation to `background` (a FastAPI BackgroundTasks) when an ingest changed `changed` > 0 jobs:
    it runs after the ingest's commit and after its answer was sent."""
    if changed > 0:
        background.add_task(run_quietly, state.sessionmaker, state.settings)


class AlertTimer:
    """The service's timer: `run_quietly` every `alerts_interval_seconds` until stopped."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.settings.alerts_interval_seconds > 0 and self.task is None:
            self.task = asyncio.create_task(self._loop(), name="jobcost-alerts-timer")

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.alerts_interval_seconds)
            await run_quietly(self.sessionmaker, self.settings)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            try:
                await self.task
            except asyncio.CancelledError:
                pass
            self.task = None
