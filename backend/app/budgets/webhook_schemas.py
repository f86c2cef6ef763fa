"""Shapes of `/admin/webhooks` and of a webhook's delivery log. A webhook's secret is write-only: no answer
carries it."""

from __future__ import annotations

import unicodedata
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, StrictBool
from pydantic_core import PydanticCustomError

URL_MAX = 2048
SECRET_MIN, SECRET_MAX = 16, 255


def _url(value: Any) -> str:
    """An absolute http(s) URL with a host, at most 2,048 characters, no spaces, control, invisible (format, such
    as a zero-width space) or unassigned characters: a URL that looks right in the list must be the one called."""
    if not isinstance(value, str):
        raise PydanticCustomError("string_type", "must be a string")
    url = value.strip()
    if len(url) > URL_MAX:
        raise PydanticCustomError("string_too_long", f"must be at most {URL_MAX} characters")
    if any(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Cn", "Cs") for ch in url):
        raise PydanticCustomError("url_parsing", "must not contain spaces, control, invisible (format) or "
                                                 "unassigned characters")
    try:
        parts = urlsplit(url)
        _ = parts.port  # a port that is not a number raises here
    except ValueError:
        raise PydanticCustomError("url_parsing", "must be an http:// or https:// URL") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise PydanticCustomError("url_scheme", "must be an http:// or https:// URL with a host")
    return url


def _secret(value: Any) -> SecretStr:
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if not isinstance(value, str):
        raise PydanticCustomError("string_type", "must be a string")
    if not SECRET_MIN <= len(value) <= SECRET_MAX:
        raise PydanticCustomError("secret_length", f"must be {SECRET_MIN} to {SECRET_MAX} characters")
    return SecretStr(value)


_WEBHOOK_EXAMPLE: dict[str, Any] = {
    "id": "2b0c1c7e-5d8f-4c1b-9e62-3f3a5f0a9d10", "url": "https://hooks.example.com/jobcost", "kind": "json",
    "active": True, "created_by": "admin@example.com", "created_at": "2026-12-01T09:00:00Z"}
_DELIVERY_EXAMPLE: dict[str, Any] = {
    "id": "9a7e0c52-1d1b-4b8e-8a55-0b7b7e1d2c33", "webhook_id": _WEBHOOK_EXAMPLE["id"],
    "event_id": "5e0d2b8c-3f4a-4c6e-9b1a-7d2e8f9a0b1c", "event_kind": "actual", "event_key":
    "actual:6f1c3c1e-9a57-4a43-9d43-0a4b1e6f2c11:2026-12-01:80", "state": "pending", "attempt": 1,
    "status_code": 503, "error": "HTTP 503", "sent_at": "2026-12-06T08:15:03Z",
    "next_attempt_at": "2026-12-06T08:15:33Z", "created_at": "2026-12-06T08:15:02Z"}


class WebhookIn(BaseModel):
    """A webhook: alerts are POSTed to `url` as `kind` `json` (the alert document) or `slack` (`{"text": ...}`,
    for a Slack incoming webhook or anything that reads that shape), signed with `secret` (HMAC-SHA256)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"url": "https://hooks.example.com/jobcost", "kind": "json", "secret": "a-long-random-shared-secret"}]})

    url: Annotated[str, BeforeValidator(_url), Field(description="http:// or https:// URL.")]
    kind: Literal["json", "slack"] = "json"
    secret: Annotated[SecretStr, BeforeValidator(_secret), Field(
        description=f"{SECRET_MIN} to {SECRET_MAX} characters; signs every body. Write-only: never shown again.",
        json_schema_extra={"type": "string", "writeOnly": True})]
    active: StrictBool = Field(True, description="JSON `true` or `false` (a string or a number is a 422).")


class WebhookRead(BaseModel):
    """A webhook as stored, without its secret."""

    model_config = ConfigDict(json_schema_extra={"examples": [_WEBHOOK_EXAMPLE]})

    id: uuid.UUID
    url: str
    kind: Literal["json", "slack"]
    active: bool
    created_by: str
    created_at: datetime


class WebhookList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"webhooks": [_WEBHOOK_EXAMPLE]}]})

    webhooks: list[WebhookRead]


class DeliveryRead(BaseModel):
    """One alert to one webhook: `attempt` attempts made so far; `status_code` and `error` the last one's outcome
    (`error` names the failure, e.g. `HTTP 503` or `ConnectError`); `next_attempt_at` when the next is due while
    `pending`; `delivered` (a 2xx answer) or `failed` (every attempt used) are final."""

    model_config = ConfigDict(json_schema_extra={"examples": [_DELIVERY_EXAMPLE]})

    id: uuid.UUID
    webhook_id: uuid.UUID
    event_id: uuid.UUID
    event_kind: Literal["actual", "forecast", "anomaly"]
    event_key: str = Field(description="What the alert is about: kind, budget, period start and threshold.")
    state: Literal["pending", "delivered", "failed"]
    attempt: int
    status_code: int | None
    error: str | None
    sent_at: datetime | None = Field(description="When the last attempt was made.")
    next_attempt_at: datetime | None
    created_at: datetime


class DeliveryList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"deliveries": [_DELIVERY_EXAMPLE]}]})

    deliveries: list[DeliveryRead] = Field(description="Newest first.")
