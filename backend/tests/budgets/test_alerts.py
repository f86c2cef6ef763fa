"""Alerts: a threshold reached by actual spend is recorded once and sent once to each webhook, signed with its
secret (checked here with a separate HMAC computation); a dead receiver is retried with backoff and logged; a
deleted budget stops alerting; the secret never appears in an answer or a log. The receivers are HTTP servers on
the loopback interface run by the tests (`receiver.py`)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import timedelta

import httpx
import pytest

from app.budgets.delivery import deliver_due
from app.budgets.runner import run_once
from app.db.base import utcnow
from tests.api.problems import assert_problem
from tests.budgets.conftest import API, day_job
from tests.budgets.receiver import dead_url, receiver
from tests.conftest import make_settings
from tests.ingestion.conftest import ingest_ok

SECRET = "s3cret-for-the-tests-0123456789"
WEBHOOKS = f"{API}/admin/webhooks"


def expected_signature(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def _setup(client: httpx.AsyncClient, admin: dict[str, str], url: str, *, kind: str = "json",
                 amount: str = "1000", thresholds: tuple[int, ...] = (50, 80, 100)) -> tuple[str, str]:
    await ingest_ok(client, admin, [day_job("seed", "nlp", "2026-01-02", "0.00")])
    hook = await client.post(WEBHOOKS, json={"url": url, "kind": kind, "secret": SECRET}, headers=admin)
    assert hook.status_code == 201, hook.text
    budget = await client.post(f"{API}/admin/budgets", json={"team": "nlp", "amount": amount,
                                                             "thresholds": list(thresholds)}, headers=admin)
    assert budget.status_code == 201, budget.text
    return hook.json()["id"], budget.json()["id"]


async def test_each_threshold_fires_once_when_actual_spend_reaches_it(client, admin_headers) -> None:
    with receiver() as hooks:
        _, budget_id = await _setup(client, admin_headers, hooks.url)
        await ingest_ok(client, admin_headers, [day_job("a", "nlp", "2026-01-05", "400.00")])  # 40 %
        assert hooks.requests == []
        await ingest_ok(client, admin_headers, [day_job("b", "nlp", "2026-01-06", "150.00")])  # 55 %: 50 reached
        assert len(hooks.requests) == 1
        await ingest_ok(client, admin_headers, [day_job("c", "nlp", "2026-01-07", "0.01")])    # 55.001 %
        await ingest_ok(client, admin_headers, [day_job("vision-1", "vision", "2026-01-07", "5000")])  # not nlp
        assert len(hooks.requests) == 1
        await ingest_ok(client, admin_headers, [day_job("d", "nlp", "2026-01-08", "249.99")])  # exactly 80 %
        assert len(hooks.requests) == 2
        await ingest_ok(client, admin_headers, [day_job("d", "nlp", "2026-01-08", "249.99")])  # unchanged
        await run_once(client._transport.app.state.sessionmaker, make_settings("sqlite://"))   # the timer's run
        assert len(hooks.requests) == 2

    first, second = hooks.requests
    for request in hooks.requests:
        assert request.headers["x-jobcost-signature"] == expected_signature(request.body)
        assert request.headers["content-type"] == "application/json"
        assert int(request.headers["x-jobcost-timestamp"]) == pytest.approx(utcnow().timestamp(), abs=120)
    alert = json.loads(first.body)
    assert (alert["event"], alert["kind"], alert["threshold"], alert["actual"]) == (
        "budget.threshold", "actual", {"percent": 50, "amount": "500.000000"}, "550.000000")
    assert (alert["budget"]["id"], alert["budget"]["team"], alert["period"]) == (
        budget_id, "nlp", {"start": "2026-01-01", "end": "2026-01-31"})
    assert first.headers["x-jobcost-event"] == alert["id"]
    second_alert = json.loads(second.body)
    assert (second_alert["threshold"]["percent"], second_alert["actual"]) == (80, "800.000000")

    states = (await client.get(f"{API}/budgets", headers=admin_headers)).json()["budgets"][0]["threshold_states"]
    assert [(s["percent"], s["state"], s["crossed_at"] is not None) for s in states] == [
        (50, "crossed-actual", True), (80, "crossed-actual", True), (100, "ok", False)]


async def test_slack_webhooks_get_a_signed_text(client, admin_headers) -> None:
    with receiver() as hooks:
        await _setup(client, admin_headers, hooks.url, kind="slack", thresholds=(100,))
        await ingest_ok(client, admin_headers, [day_job("a", "nlp", "2026-01-05", "1000.00")])
    (request,) = hooks.requests
    assert request.headers["x-jobcost-signature"] == expected_signature(request.body)
    document = json.loads(request.body)
    assert list(document) == ["text"]
    assert "team nlp" in document["text"] and "100 %" in document["text"] and "1000.000000" in document["text"]


async def test_a_deleted_budget_stops_alerting(client, admin_headers) -> None:
    with receiver() as hooks:
        _, budget_id = await _setup(client, admin_headers, hooks.url)
        assert (await client.delete(f"{API}/admin/budgets/{budget_id}", headers=admin_headers)).status_code == 204
        await ingest_ok(client, admin_headers, [day_job("a", "nlp", "2026-01-05", "5000.00")])
    assert hooks.requests == []


async def test_a_dead_receiver_is_retried_with_backoff_and_logged(client, admin_headers, caplog) -> None:
    settings = make_settings("sqlite://", alerts_max_attempts=3, alerts_retry_base_seconds=30)
    sessionmaker = client._transport.app.state.sessionmaker
    caplog.set_level(logging.INFO)
    hook_id, _ = await _setup(client, admin_headers, dead_url(), thresholds=(50,))
    before = utcnow()
    await ingest_ok(client, admin_headers, [day_job("a", "nlp", "2026-01-05", "600.00")])  # tried once at once

    async def log() -> dict[str, object]:
        answer = await client.get(f"{WEBHOOKS}/{hook_id}/deliveries", headers=admin_headers)
        assert answer.status_code == 200, answer.text
        (delivery,) = answer.json()["deliveries"]
        return delivery

    first = await log()
    assert (first["state"], first["attempt"], first["status_code"], first["error"], first["event_kind"]) == (
        "pending", 1, None, "ConnectError", "actual")
    next_at = utcnow().fromisoformat(first["next_attempt_at"])
    assert before + timedelta(seconds=30) <= next_at <= utcnow() + timedelta(seconds=30)
    # Not due yet: nothing is tried.
    assert (await deliver_due(sessionmaker, settings, now=next_at - timedelta(seconds=1))).retrying == 0
    assert (await log())["attempt"] == 1
    # Due: the 2nd attempt, then 60 s later the 3rd and last.
    await deliver_due(sessionmaker, settings, now=next_at)
    second = await log()
    assert (second["state"], second["attempt"]) == ("pending", 2)
    assert utcnow().fromisoformat(second["next_attempt_at"]) == next_at + timedelta(seconds=60)
    await deliver_due(sessionmaker, settings, now=next_at + timedelta(seconds=60))
    last = await log()
    assert (last["state"], last["attempt"], last["error"], last["next_attempt_at"]) == ("failed", 3, "ConnectError",
                                                                                       None)
    assert "attempt 3: ConnectError; giving up" in caplog.text
    assert SECRET not in caplog.text


async def test_a_failing_receiver_gets_the_same_signed_body_until_it_accepts(client, admin_headers) -> None:
    settings = make_settings("sqlite://")
    sessionmaker = client._transport.app.state.sessionmaker
    with receiver(503) as hooks:
        hook_id, _ = await _setup(client, admin_headers, hooks.url, thresholds=(50,))
        await ingest_ok(client, admin_headers, [day_job("a", "nlp", "2026-01-05", "600.00")])
        (pending,) = (await client.get(f"{WEBHOOKS}/{hook_id}/deliveries", headers=admin_headers)).json()["deliveries"]
        assert (pending["state"], pending["status_code"], pending["error"]) == ("pending", 503, "HTTP 503")
        await deliver_due(sessionmaker, settings, now=utcnow() + timedelta(minutes=1))
    (done,) = (await client.get(f"{WEBHOOKS}/{hook_id}/deliveries", headers=admin_headers)).json()["deliveries"]
    assert (done["state"], done["attempt"], done["status_code"], done["error"]) == ("delivered", 2, 200, None)
    first, second = hooks.requests
    assert first.body == second.body
    assert second.headers["x-jobcost-signature"] == expected_signature(second.body)


async def test_the_secret_is_write_only(client, admin_headers, caplog) -> None:
    caplog.set_level(logging.INFO)  # (a database driver's DEBUG echo of statements shows every parameter)
    created = await client.post(WEBHOOKS, json={"url": "https://hooks.example.test/x", "secret": SECRET},
                                headers=admin_headers)
    assert created.status_code == 201, created.text
    assert created.json()["kind"] == "json" and "secret" not in created.json()
    listed = await client.get(WEBHOOKS, headers=admin_headers)
    assert [h["id"] for h in listed.json()["webhooks"]] == [created.json()["id"]]
    for text in (created.text, listed.text, caplog.text):
        assert SECRET not in text
    deleted = await client.delete(f"{WEBHOOKS}/{created.json()['id']}", headers=admin_headers)
    assert deleted.status_code == 204
    assert (await client.get(WEBHOOKS, headers=admin_headers)).json()["webhooks"] == []
    assert_problem(await client.get(f"{WEBHOOKS}/{created.json()['id']}/deliveries", headers=admin_headers), 404)


@pytest.mark.parametrize(("body", "field"), [
    ({"url": "ftp://hooks.example.test/x", "secret": SECRET}, "url"),
    ({"url": "https:///nohost", "secret": SECRET}, "url"),
    ({"url": "hooks.example.test", "secret": SECRET}, "url"),
    ({"url": "https://hooks.example.test/x", "secret": "short"}, "secret"),
    ({"url": "https://hooks.example.test/x"}, "secret"),
    ({"url": "https://hooks.example.test/x", "secret": SECRET, "kind": "teams"}, "kind"),
    # not a boolean: "yes" (or "no", "off", 0) must not quietly decide whether alerts are sent
    ({"url": "https://hooks.example.test/x", "secret": SECRET, "active": "yes"}, "active"),
    ({"url": "https://hooks.example.test/x", "secret": SECRET, "active": 0}, "active"),
    # an invisible character in the host: it looks right in the list and never resolves
    ({"url": "https://hooks.exa\u200bmple.test/x", "secret": SECRET}, "url"),
])
async def test_bad_webhooks_are_a_422_naming_the_field(client, admin_headers, body, field) -> None:
    response = await client.post(WEBHOOKS, json=body, headers=admin_headers)
    errors = assert_problem(response, 422)["errors"]
    assert [e["loc"] for e in errors] == [["body", field]], errors
    assert SECRET not in response.text
    assert (await client.get(WEBHOOKS, headers=admin_headers)).json()["webhooks"] == []
