"""Logs: one JSON object per line with the request's fields; the request id from `X-Request-ID` when sane (else
generated), echoed on every answer; never a query string, a token, a password or an e-mail. Both databases."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from app.core.config import Settings
from app.core.errors import DatabaseUnavailableError
from app.core.logs import JsonFormatter, TextFormatter, request_id_from
from app.db.models import Role
from tests.factories import DEFAULT_PASSWORD, create_ingest_token, create_user, token_headers
from tests.logs.conftest import access_lines

RFC3339_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
GENERATED_ID = re.compile(r"[0-9a-f]{32}")
EMAIL = "logged.admin@example.test"


async def _sign_in(client: httpx.AsyncClient, email: str) -> str:
    response = await client.post("/api/v1/auth/token", data={"username": email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


async def test_a_request_line_has_every_field(client: httpx.AsyncClient, sessionmaker: Any, settings: Settings,
                                              log_lines: Callable[[], list[str]]) -> None:
    admin = await create_user(sessionmaker, settings, EMAIL, role=Role.admin)
    token = await _sign_in(client, EMAIL)
    response = await client.get("/api/v1/jobs", params={"team": "query-secret", "limit": 5},
                                headers={"Authorization": f"Bearer {token}", "X-Request-ID": "req-42.a_b:c"})
    assert response.status_code == 200, response.text
    assert response.headers["x-request-id"] == "req-42.a_b:c"

    lines = log_lines()
    for line in lines:  # every line is one JSON object with the base fields
        entry = json.loads(line)
        assert {"time", "level", "logger", "message"} <= set(entry), entry
        assert RFC3339_UTC.fullmatch(entry["time"]), entry
    (line,) = [e for e in access_lines(lines) if e.get("request_id") == "req-42.a_b:c"]
    assert line["level"] == "INFO" and line["logger"] == "jobcost.access"
    assert (line["method"], line["route"], line["status"]) == ("GET", "/api/v1/jobs", 200)
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["principal"] == f"user:{admin.id}"
    assert line["message"] == f"GET /api/v1/jobs 200 {line['duration_ms']:.1f} ms"
    # Neither the query string, the token, the password nor the e-mail is written anywhere.
    text = "\n".join(lines)
    for secret in ("query-secret", "limit=5", token, token.split(".")[2], DEFAULT_PASSWORD, EMAIL):
        assert secret not in text


async def test_an_ingest_token_is_logged_by_its_id(client: httpx.AsyncClient, sessionmaker: Any,
                                                   settings: Settings, log_lines: Callable[[], list[str]]) -> None:
    issued = await create_ingest_token(sessionmaker, settings)
    response = await client.post("/api/v1/admin/ingest/jobs", json={"jobs": []},
                                 headers={**token_headers(issued.token), "X-Request-ID": "ingest-1"})
    assert response.status_code == 200, response.text
    (line,) = [e for e in access_lines(log_lines()) if e.get("request_id") == "ingest-1"]
    assert line["principal"] == f"token:{issued.record.id}"
    assert line["route"] == "/api/v1/admin/ingest/jobs"
    assert issued.token not in "\n".join(log_lines())


@pytest.mark.parametrize("sent", [None, "", "x" * 129, "has space", "semi;colon", "é-accent", "a/b", "{json}"])
async def test_a_missing_or_unsafe_request_id_is_replaced(client: httpx.AsyncClient, sent: str | None,
                                                          log_lines: Callable[[], list[str]]) -> None:
    headers = {} if sent is None else {"X-Request-ID": sent.encode()}
    response = await client.get("/health", headers=headers)
    request_id = response.headers["x-request-id"]
    assert GENERATED_ID.fullmatch(request_id), request_id
    (line,) = [e for e in access_lines(log_lines()) if e["route"] == "/health"]
    assert line["request_id"] == request_id
    if sent:
        assert sent not in "\n".join(log_lines())


async def test_the_longest_safe_request_id_is_kept(client: httpx.AsyncClient) -> None:
    sent = "A1._:@+=-" + "z" * 119  # 128 characters
    assert (await client.get("/health", headers={"X-Request-ID": sent})).headers["x-request-id"] == sent
    assert request_id_from(sent + "z") != sent + "z"


async def test_errors_carry_the_request_id_too(app: Any, client: httpx.AsyncClient,
                                               log_lines: Callable[[], list[str]]) -> None:
    async def down() -> None:
        raise DatabaseUnavailableError()

    async def bug() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/test-log/down", down)
    app.add_api_route("/test-log/bug", bug)
    quiet = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                              base_url="http://testserver")
    async with quiet:
        for path, status in [("/api/v1/auth/me", 401), ("/no/such/page", 404), ("/test-log/down", 503),
                             ("/test-log/bug", 500)]:
            response = await quiet.get(path, headers={"X-Request-ID": f"err-{status}"})
            assert response.status_code == status
            assert response.headers["x-request-id"] == f"err-{status}"
    entries = list(map(json.loads, log_lines()))
    by_id = {e["request_id"]: e for e in access_lines(log_lines())}
    assert {k: (v["route"], v["status"]) for k, v in by_id.items()} == {
        "err-401": ("/api/v1/auth/me", 401), "err-404": ("unmatched", 404), "err-503": ("/test-log/down", 503),
        "err-500": ("/test-log/bug", 500)}
    # The handler's own error line, logged during the request, has its id and the traceback as `error`.
    (failure,) = [e for e in entries if e["logger"] == "jobcost.errors" and e["level"] == "ERROR"
                  and e.get("request_id") == "err-500"]
    assert "RuntimeError: a bug" in failure["error"]


def test_text_format_for_development() -> None:
    record = logging.LogRecord("jobcost.test", logging.WARNING, __file__, 1, "hello %s", ("world",), None)
    text = TextFormatter().format(record)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z WARNING jobcost.test: hello world", text), text
    entry = json.loads(JsonFormatter().format(record))
    assert {k: entry[k] for k in ("level", "logger", "message")} == {
        "level": "WARNING", "logger": "jobcost.test", "message": "hello world"}


@pytest.mark.parametrize(("env", "setting", "expected"), [
    ("development", None, "text"), ("test", None, "text"), ("production", None, "json"),
    ("development", "json", "json"), ("production", "text", "text")])
def test_the_format_follows_the_environment_unless_set(env: str, setting: str | None, expected: str) -> None:
    values: dict[str, Any] = {"env": env, "secret_key": "k" * 40}
    if setting:
        values["log_format"] = setting
    assert Settings(**values).log_format_in_use == expected
