"""Evaluating budgets: each threshold reached by the period's actual spend, or by its forecast total, becomes one
alert event, and each anomaly found by forecasting one too; each new event queues one delivery per active webhook.

An event's `key` is unique (`actual:<budget>:<period start>:<percent>`, `forecast:…`, `anomaly:<group>:<day>`) and
inserted with ON CONFLICT DO NOTHING: however many evaluators run at once, in however many processes, and across
restarts, an alert is recorded, and so sent, once. The figures are read without a lock (an evaluation that finds
nothing new writes nothing, so it never holds up ingestion); recording new alerts takes a database lock as well:
PostgreSQL's transaction advisory lock (taken with try: a second evaluator skips its turn), SQLite's write lock
(BEGIN IMMEDIATE: a second evaluator waits, then finds the events already there).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.budgets import spend
from app.budgets.periods import period_bounds
from app.budgets.service import budget_team_ids, threshold_micros
from app.core.money import six_places
from app.db.base import utcnow
from app.db.dialect import insert_for
from app.db.engine import begin_write
from app.db.models import AlertEvent, AlertKind, Budget, DeliveryState, Team, Webhook, WebhookDelivery
from app.db.types import usd_to_micros

# pg_try_advisory_xact_lock key: "jobcost alerts" as a 63-bit number, arbitrary but fixed.
ADVISORY_LOCK_KEY = 0x6A6F62636F7374A1 & 0x7FFFFFFFFFFFFFFF


@dataclass(frozen=True, slots=True)
class Candidate:
    """An alert the figures call for, recorded unless its `key` is already."""

    key: str
    kind: AlertKind
    period_start: date
    document: dict[str, Any]
    budget_id: uuid.UUID | None = None
    threshold: int | None = None


@dataclass(frozen=True, slots=True)
class Evaluation:
    """What one evaluation did: whether it held the lock, the events it recorded and the deliveries it queued."""

    ran: bool
    events: int = 0
    deliveries: int = 0


async def take_lock(session: AsyncSession) -> bool:
    """The evaluators' lock for the rest of `session`'s (writer's) transaction: True when held. On SQLite the
    transaction's write lock is it; on PostgreSQL a transaction advisory lock, tried without waiting."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool((await session.execute(text("SELECT pg_try_advisory_xact_lock(:key)"),
                                        {"key": ADVISORY_LOCK_KEY})).scalar())


def _budget_document(budget: Budget, team: str | None) -> dict[str, Any]:
    return {"id": str(budget.id), "name": budget.name, "scope": budget.scope.value, "team": team,
            "team_id": None if budget.team_id is None else str(budget.team_id), "period": budget.period.value,
            "amount": six_places(spend.usd(budget.amount_micros))}


def _threshold_text(doc: dict[str, Any]) -> str:
    budget = doc["budget"]
    whom = f"team {budget['team']}" if budget["team"] else "all teams"
    name = f" ({budget['name']})" if budget["name"] else ""
    figure = (f"actual spend {doc['actual']} USD" if doc["kind"] == "actual"
              else f"forecast total {doc['forecast']['expected_total']} USD (actual so far {doc['actual']} USD)")
    return (f"jobcost: the {budget['period']}ly budget of {whom}{name} reached {doc['threshold']['percent']} % "
            f"({doc['threshold']['amount']} of {budget['amount']} USD) on {figure}, period "
            f"{doc['period']['start']} to {doc['period']['end']}")


def message_text(doc: dict[str, Any]) -> str:
    """The one-line text of an alert (Slack's `text`)."""
    if doc["kind"] == "anomaly":
        group = f" for {doc['group']}" if doc.get("group") else ""
        return (f"jobcost: unusual spend{group} on {doc['day']}: {doc['actual']} USD against {doc['expected']} USD "
                "expected")
    return _threshold_text(doc)


class Evaluator:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _record(self, candidate: Candidate, now: datetime) -> uuid.UUID | None:
        """Insert the event if no event has its key: its id when inserted, None when it was there already."""
        event_id = uuid.uuid4()
        payload = {"id": str(event_id), **candidate.document, "created_at": now.strftime("%Y-%m-%dT%H:%M:%SZ")}
        payload["text"] = message_text(payload)
        inserted = await self.session.execute(
            insert_for(self.session, AlertEvent).values(
                id=event_id, key=candidate.key, kind=candidate.kind, budget_id=candidate.budget_id,
                period_start=candidate.period_start, threshold=candidate.threshold, payload=payload, created_at=now)
            .on_conflict_do_nothing(index_elements=["key"]).returning(AlertEvent.id))
        return inserted.scalar_one_or_none()

    async def _budget(self, budget: Budget, team: str | None, today: date) -> list[Candidate]:
        start, end = period_bounds(budget.period, today)
        teams = budget_team_ids(budget)
        actual = await spend.actual_micros(self.session, teams, start, end)
        limits = {percent: threshold_micros(budget.amount_micros, percent) for percent in budget.thresholds}
        forecast = None
        if any(actual < limit for limit in limits.values()):
            forecast = await spend.forecast(self.session, budget.period.value, teams, today)
        forecast_micros = None if forecast is None else usd_to_micros(
            forecast.expected_total.quantize(Decimal("0.000001")))
        base = {"event": "budget.threshold", "budget": _budget_document(budget, team),
                "period": {"start": start.isoformat(), "end": end.isoformat()}, "as_of": today.isoformat(),
                "actual": six_places(spend.usd(actual)),
                "forecast": None if forecast is None else {
                    "expected_total": six_places(forecast.expected_total),
                    "interval_low": six_places(forecast.interval_low),
                    "interval_high": six_places(forecast.interval_high),
                    "interval_level": str(forecast.interval_level), "method": forecast.method}}
        found: list[Candidate] = []
        for percent, limit in limits.items():
            if actual >= limit:
                kind = AlertKind.actual
            elif forecast_micros is not None and forecast_micros >= limit:
                kind = AlertKind.forecast
            else:
                continue
            document = {**base, "kind": kind.value,
                        "threshold": {"percent": percent, "amount": six_places(spend.usd(limit))}}
            found.append(Candidate(f"{kind.value}:{budget.id}:{start.isoformat()}:{percent}", kind, start,
                                   document, budget.id, percent))
        return found

    async def _anomalies(self, today: date) -> list[Candidate]:
        found: list[Candidate] = []
        for anomaly in await spend.anomalies(self.session, today - timedelta(days=1), today):
            document = {"event": "spend.anomaly", "kind": "anomaly", **anomaly}
            key = f"anomaly:{anomaly['group_key'] or anomaly['group'] or '*'}:{anomaly['day']}"[:255]
            found.append(Candidate(key, AlertKind.anomaly, date.fromisoformat(anomaly["day"]), document))
        return found

    async def queue(self, event_ids: list[uuid.UUID], now: datetime) -> int:
        """One pending delivery per new event and active webhook, due now."""
        if not event_ids:
            return 0
        hooks = list((await self.session.execute(select(Webhook.id).where(Webhook.active.is_(True)))).scalars())
        rows = [{"id": uuid.uuid4(), "webhook_id": hook, "event_id": event, "state": DeliveryState.pending,
                 "attempt": 0, "next_attempt_at": now, "created_at": now} for event in event_ids for hook in hooks]
        if rows:
            await self.session.execute(insert_for(self.session, WebhookDelivery).values(rows)
                                       .on_conflict_do_nothing(index_elements=["event_id", "webhook_id"]))
        return len(rows)

    async def evaluate(self, today: date, now: datetime | None = None) -> Evaluation:
        """Evaluate every budget in the period holding `today`, and the anomalies of yesterday and today. The
        figures are read first, in a reading transaction; only when some alert is not recorded yet does a writer's
        transaction start (under the evaluators' lock) to insert it; the caller commits. Skipped (`ran` False)
        when another evaluator holds the lock on PostgreSQL."""
        now = now or utcnow()
        rows = await self.session.execute(
            select(Budget, Team.name).outerjoin(Team, Team.id == Budget.team_id).order_by(Budget.id))
        candidates: list[Candidate] = []
        for budget, team in rows.all():
            candidates.extend(await self._budget(budget, team, today))
        candidates.extend(await self._anomalies(today))
        if not candidates:
            return Evaluation(ran=True)
        known = set((await self.session.execute(
            select(AlertEvent.key).where(AlertEvent.key.in_([c.key for c in candidates])))).scalars())
        fresh = [c for c in candidates if c.key not in known]
        if not fresh:
            return Evaluation(ran=True)
        await begin_write(self.session)
        if not await take_lock(self.session):
            return Evaluation(ran=False)
        new = [event for c in fresh if (event := await self._record(c, now)) is not None]
        return Evaluation(ran=True, events=len(new), deliveries=await self.queue(new, now))
