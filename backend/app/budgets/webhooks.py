"""Webhooks: register, list and delete them, and read a webhook's delivery log. The secret is stored to sign the
bodies and never returned or logged."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.budgets.webhook_schemas import WebhookIn
from app.core.errors import NotFoundError
from app.db.models import AlertEvent, Webhook, WebhookDelivery, WebhookKind

MAX_LOG = 500


@dataclass(frozen=True, slots=True)
class DeliveryView:
    delivery: WebhookDelivery
    event: AlertEvent


class WebhookService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(self, body: WebhookIn, actor: str) -> Webhook:
        hook = Webhook(url=body.url, kind=WebhookKind(body.kind), secret=body.secret.get_secret_value(),
                       active=body.active, created_by=actor)
        self.session.add(hook)
        await self.session.flush()
        return hook

    async def list(self) -> list[Webhook]:
        return list((await self.session.execute(select(Webhook).order_by(Webhook.created_at, Webhook.id))).scalars())

    async def get(self, webhook_id: uuid.UUID) -> Webhook:
        hook = await self.session.get(Webhook, webhook_id)
        if hook is None:
            raise NotFoundError(f"No webhook with id {webhook_id}")
        return hook

    async def delete(self, webhook_id: uuid.UUID) -> None:
        """Delete a webhook and its delivery log; alerts not yet sent to it are not sent."""
        await self.session.delete(await self.get(webhook_id))
        await self.session.flush()

    async def deliveries(self, webhook_id: uuid.UUID, limit: int = 100) -> list[DeliveryView]:
        """The webhook's deliveries, newest first (at most `limit`)."""
        await self.get(webhook_id)
        rows = await self.session.execute(
            select(WebhookDelivery, AlertEvent).join(AlertEvent, AlertEvent.id == WebhookDelivery.event_id)
            .where(WebhookDelivery.webhook_id == webhook_id)
            .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc()).limit(min(limit, MAX_LOG)))
        return [DeliveryView(delivery, event) for delivery, event in rows.all()]
