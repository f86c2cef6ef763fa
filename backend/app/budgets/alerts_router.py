"""`/admin/webhooks`: where alerts go, and each webhook's delivery log. Admins only. HTTP only: the work is in
`app.budgets.webhooks`."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.api.deps import (
    INGEST_TOKEN_REFUSED,
    QUERY_REFUSED,
    AdminUser,
    SessionDep,
    single_valued_query,
    start_writing,
)
from app.api.errors import error_responses, problem_body
from app.budgets.webhook_schemas import DeliveryList, DeliveryRead, WebhookIn, WebhookList, WebhookRead
from app.budgets.webhooks import MAX_LOG, DeliveryView, WebhookService
from app.db.models import Webhook

router = APIRouter(prefix="/admin/webhooks")  # tagged "budgets" by the router that includes it

_ERRORS = {**error_responses(401, 403, 422, 503, examples={422: problem_body(
    422, "validation-error", "Validation error", "Invalid request: body.url",
    errors=[{"loc": ["body", "url"], "msg": "must be an http:// or https:// URL with a host", "type": "url_scheme"}])}),
    **INGEST_TOKEN_REFUSED}
_NOT_FOUND = error_responses(404, descriptions={404: "No webhook with this id"}, examples={
    404: problem_body(404, "not-found", "Not found", "No webhook with id 2b0c1c7e-5d8f-4c1b-9e62-3f3a5f0a9d10")})


def _read(hook: Webhook) -> WebhookRead:
    return WebhookRead(id=hook.id, url=hook.url, kind=hook.kind.value, active=hook.active,
                       created_by=hook.created_by, created_at=hook.created_at)


def _delivery(view: DeliveryView) -> DeliveryRead:
    d, e = view.delivery, view.event
    return DeliveryRead(id=d.id, webhook_id=d.webhook_id, event_id=e.id, event_kind=e.kind.value, event_key=e.key,
                        state=d.state.value, attempt=d.attempt, status_code=d.status_code, error=d.error,
                        sent_at=d.sent_at, next_attempt_at=d.next_attempt_at, created_at=d.created_at)


@router.post("", summary="Register a webhook", status_code=status.HTTP_201_CREATED, response_model=WebhookRead,
             responses=_ERRORS)
async def create_webhook(admin: AdminUser, session: SessionDep, body: WebhookIn) -> WebhookRead:
    """Alerts (budget thresholds reached by actual or forecast spend, spend anomalies) are POSTed to `url`, each
    once: as the alert document (`kind` `json`) or as `{"text": ...}` (`slack`). Every body is signed:
    `X-Jobcost-Signature: sha256=<hex HMAC-SHA256 of the body keyed with secret>` (docs/budgets-and-alerts.md
    shows how to check it). `secret` (16 to 255 characters) is write-only: no answer shows it. Admins only."""
    await start_writing(session)
    return _read(await WebhookService(session).create(body, admin.email))


@router.get("", summary="List webhooks", response_model=WebhookList,
            dependencies=[single_valued_query(caller=AdminUser)],
            responses={**error_responses(401, 403, 503), **INGEST_TOKEN_REFUSED, **QUERY_REFUSED})
async def list_webhooks(_: AdminUser, session: SessionDep) -> WebhookList:
    """Every webhook, oldest first, without its secret. Admins only."""
    return WebhookList(webhooks=[_read(h) for h in await WebhookService(session).list()])


@router.delete("/{webhook_id}", summary="Delete a webhook", status_code=204, response_class=Response,
               responses={**_ERRORS, **_NOT_FOUND})
async def delete_webhook(_: AdminUser, session: SessionDep, webhook_id: uuid.UUID) -> Response:
    """Delete a webhook and its delivery log; alerts not yet delivered to it are dropped. Admins only."""
    await start_writing(session)
    await WebhookService(session).delete(webhook_id)
    return Response(status_code=204)


@router.get("/{webhook_id}/deliveries", summary="A webhook's delivery log", response_model=DeliveryList,
            dependencies=[single_valued_query(caller=AdminUser)], responses={**_ERRORS, **_NOT_FOUND})
async def list_deliveries(_: AdminUser, session: SessionDep, webhook_id: uuid.UUID,
                          limit: Annotated[int, Query(ge=1, le=MAX_LOG, description="At most this many.")] = 100,
                          ) -> DeliveryList:
    """The alerts sent (or being sent) to the webhook, newest first: each with its event, state (`pending`,
    `delivered`, `failed`), attempts made, the last attempt's HTTP status or error, when it was made and when the
    next is due. Admins only."""
    views = await WebhookService(session).deliveries(webhook_id, limit)
    return DeliveryList(deliveries=[_delivery(v) for v in views])
