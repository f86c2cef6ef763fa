"""Budgets, the alerts they raise, and the webhooks that carry the alerts (DESIGN.md "Budgets and alerts")."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import NOW, Base, Timestamps, UUIDPrimaryKey, utcnow
from app.db.types import UTCDateTime


def _enum(kind: type[StrEnum], name: str) -> Enum:
    return Enum(kind, native_enum=False, create_constraint=True, length=16, name=name,
                values_callable=lambda e: [m.value for m in e])


class BudgetScope(StrEnum):
    """`team`: one team's spend; `all`: every team's together."""

    team = "team"
    all = "all"


class BudgetPeriod(StrEnum):
    """A calendar month or quarter, in UTC days."""

    month = "month"
    quarter = "quarter"


class AlertKind(StrEnum):
    """What raised an alert: the period's actual spend, its forecast total, or an anomalous day."""

    actual = "actual"
    forecast = "forecast"
    anomaly = "anomaly"


class WebhookKind(StrEnum):
    """`json`: the alert as a JSON document; `slack`: a Slack-compatible `{"text": ...}`."""

    json = "json"
    slack = "slack"


class DeliveryState(StrEnum):
    """`pending` until sent (`delivered`) or given up after the last retry (`failed`)."""

    pending = "pending"
    delivered = "delivered"
    failed = "failed"


class Budget(UUIDPrimaryKey, Timestamps, Base):
    """An amount of USD (integer micro-USD) for one team (`scope` team) or every team (`all`), per calendar month or
    quarter, with thresholds in percent of the amount (sorted, each 1..1000)."""

    __tablename__ = "budgets"
    __table_args__ = (
        CheckConstraint("amount_micros > 0", name="amount_positive"),
        CheckConstraint("(scope = 'team') = (team_id IS NOT NULL)", name="team_matches_scope"),
    )

    name: Mapped[str | None] = mapped_column(String(255))
    scope: Mapped[BudgetScope] = mapped_column(_enum(BudgetScope, "budget_scope"), nullable=False)
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    period: Mapped[BudgetPeriod] = mapped_column(_enum(BudgetPeriod, "budget_period"), nullable=False)
    amount_micros: Mapped[int] = mapped_column(BigInteger, nullable=False)
    thresholds: Mapped[list[int]] = mapped_column(JSON, nullable=False)
    created_by: Mapped[str] = mapped_column(String(320), nullable=False)


class AlertEvent(UUIDPrimaryKey, Base):
    """One alert, recorded once: `key` is unique (kind, budget, period start and threshold; or, for an anomaly,
    its group and day), so however many evaluators see a threshold crossed, one row is inserted and one message
    per webhook is queued. `payload` is the message's document. A deleted budget keeps its past events (and their
    delivery log), with `budget_id` set to NULL."""

    __tablename__ = "alert_events"

    key: Mapped[str] = mapped_column(String(255), nullable=False, unique=True)
    kind: Mapped[AlertKind] = mapped_column(_enum(AlertKind, "alert_kind"), nullable=False)
    budget_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("budgets.id", ondelete="SET NULL"), index=True)
    period_start: Mapped[date] = mapped_column(Date, nullable=False)
    threshold: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow, server_default=NOW)


class Webhook(UUIDPrimaryKey, Base):
    """Where alerts are sent. `secret` signs each body (HMAC-SHA256); it is never shown or logged."""

    __tablename__ = "webhooks"

    url: Mapped[str] = mapped_column(Text, nullable=False)
    kind: Mapped[WebhookKind] = mapped_column(_enum(WebhookKind, "webhook_kind"), nullable=False)
    secret: Mapped[str] = mapped_column(String(255), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True, server_default=true())
    created_by: Mapped[str] = mapped_column(String(320), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow, server_default=NOW)


class WebhookDelivery(UUIDPrimaryKey, Base):
    """One alert to one webhook, and its attempts so far: `attempt` is how many were made, `status_code` and
    `error` the last one's outcome, `next_attempt_at` when the next is due (persisted, so a restart resumes)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_state_next_attempt_at", "state", "next_attempt_at"),
                      UniqueConstraint("event_id", "webhook_id"))

    webhook_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False,
                                                  index=True)
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("alert_events.id", ondelete="CASCADE"), nullable=False)
    state: Mapped[DeliveryState] = mapped_column(_enum(DeliveryState, "delivery_state"), nullable=False,
                                                 default=DeliveryState.pending)
    attempt: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow, server_default=NOW)
