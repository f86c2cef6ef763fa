"""Sending alerts to webhooks: signed, with a short timeout, retried with exponential backoff, every attempt kept
in the delivery log (`webhook_deliveries`).

A due delivery (`pending`, `next_attempt_at` passed) is first claimed, in a committed transaction of its own, by
moving `next_attempt_at` past the request's timeout: a second sender (another worker, a timer beside an ingest)
no longer sees it due, so one message goes out per attempt. The request is then made with no transaction open, and
its outcome recorded: `delivered` on a 2xx answer; otherwise `pending` again with `next_attempt_at` = now +
base × 2^(attempt − 1) (at most an hour), or `failed` once the attempts are used. The schedule is in the database,
so a restart resumes it. The secret signs the body and is never logged; errors are recorded as `HTTP <status>` or
the exception's class name (never its text, which can repeat the URL and its credentials).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.db.base import utcnow
from app.db.engine import begin_write
from app.db.models import AlertEvent, DeliveryState, Webhook, WebhookDelivery, WebhookKind

logger = logging.getLogger("jobcost.alerts")

SIGNATURE_HEADER = "X-Jobcost-Signature"
TIMESTAMP_HEADER = "X-Jobcost-Timestamp"
EVENT_HEADER = "X-Jobcost-Event"
DELIVERY_HEADER = "X-Jobcost-Delivery"
MAX_BACKOFF = timedelta(hours=1)
BATCH = 50


def body_for(kind: WebhookKind, document: dict[str, Any]) -> bytes:
    """The bytes POSTed: the alert document (kind `json`), or `{"text": ...}` (kind `slack`); compact UTF-8 JSON.
    The same event gives the same body at every attempt."""
    content = {"text": document["text"]} if kind is WebhookKind.slack else document
    return json.dumps(content, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def signature(secret: str, body: bytes) -> str:
    """`sha256=` and the hex HMAC-SHA256 of `body` keyed with `secret` (UTF-8): the X-Jobcost-Signature header."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def backoff(settings: Settings, attempt: int) -> timedelta:
    """The wait after failed attempt number `attempt` (1-based): base × 2^(attempt − 1), at most an hour."""
    return min(timedelta(seconds=settings.alerts_retry_base_seconds * 2 ** (attempt - 1)), MAX_BACKOFF)


@dataclass(frozen=True, slots=True)
class _Claimed:
    delivery_id: uuid.UUID
    attempt: int
    url: str
    kind: WebhookKind
    secret: str
    event_id: uuid.UUID
    document: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Sent:
    """The deliveries attempted by one pass, by outcome."""

    delivered: int = 0
    retrying: int = 0
    failed: int = 0


async def _claim(session: AsyncSession, settings: Settings, now: datetime) -> list[_Claimed]:
    # Read first: with nothing due (the usual case after an ingest) no write transaction is started at all.
    due = await session.scalar(select(WebhookDelivery.id).where(
        WebhookDelivery.state == DeliveryState.pending, WebhookDelivery.next_attempt_at <= now).limit(1))
    if due is None:
        return []
    await begin_write(session)
    rows = (await session.execute(
        select(WebhookDelivery, Webhook, AlertEvent)
        .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
        .join(AlertEvent, AlertEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.state == DeliveryState.pending, WebhookDelivery.next_attempt_at <= now,
               Webhook.active.is_(True))
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(BATCH))).all()
    lease = now + timedelta(seconds=settings.alerts_timeout_seconds + 30)
    claimed = []
    for delivery, hook, event in rows:
        won = await session.execute(
            update(WebhookDelivery).where(WebhookDelivery.id == delivery.id,
                                          WebhookDelivery.state == DeliveryState.pending,
                                          WebhookDelivery.attempt == delivery.attempt,
                                          WebhookDelivery.next_attempt_at <= now)
            .values(next_attempt_at=lease).execution_options(synchronize_session=False))
        if won.rowcount == 1:
            claimed.append(_Claimed(delivery.id, delivery.attempt + 1, hook.url, hook.kind, hook.secret, event.id,
                                    dict(event.payload)))
    await session.commit()
    return claimed


async def _post(client: httpx.AsyncClient, item: _Claimed, settings: Settings) -> tuple[int | None, str | None]:
    body = body_for(item.kind, item.document)
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: signature(item.secret, body),
               TIMESTAMP_HEADER: str(int(utcnow().timestamp())), EVENT_HEADER: str(item.event_id),
               DELIVERY_HEADER: str(item.delivery_id), "User-Agent": "jobcost-alerts"}
    try:
        response = await client.post(item.url, content=body, headers=headers,
                                     timeout=settings.alerts_timeout_seconds)
    except httpx.HTTPError as exc:
        return None, type(exc).__name__
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"HTTP {response.status_code}"


async def deliver_due(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, *,
                      now: datetime | None = None, client: httpx.AsyncClient | None = None) -> Sent:
    """Attempt every delivery due at `now` (default: the current instant), at most `BATCH` of them, and record
    each outcome. Never raises for a receiver's failure."""
    now = now or utcnow()
    async with sessionmaker() as session:
        claimed = await _claim(session, settings, now)
    if not claimed:
        return Sent()
    own = client is None
    http = client or httpx.AsyncClient(follow_redirects=False)
    counts = {"delivered": 0, "retrying": 0, "failed": 0}
    try:
        for item in claimed:
            status, error = await _post(http, item, settings)
            sent_at = utcnow()
            if error is None:
                state, next_at = DeliveryState.delivered, None
            elif item.attempt >= settings.alerts_max_attempts:
                state, next_at = DeliveryState.failed, None
            else:
                state, next_at = DeliveryState.pending, now + backoff(settings, item.attempt)
            counts[{"delivered": "delivered", "failed": "failed"}.get(state.value, "retrying")] += 1
            if error is not None:
                logger.warning("webhook delivery %s (event %s), attempt %d: %s; %s", item.delivery_id,
                               item.event_id, item.attempt, error,
                               "giving up" if state is DeliveryState.failed else f"next attempt at {next_at}")
            async with sessionmaker() as session:
                await begin_write(session)
                await session.execute(
                    update(WebhookDelivery).where(WebhookDelivery.id == item.delivery_id)
                    .values(state=state, attempt=item.attempt, status_code=status, error=error, sent_at=sent_at,
                            next_attempt_at=next_at).execution_options(synchronize_session=False))
                await session.commit()
    finally:
        if own:
            await http.aclose()
    return Sent(**counts)
