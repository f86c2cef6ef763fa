"""Assertions on RFC 9457 problem documents, shared by the auth and api tests.

The expected `type` URIs are spelled out here rather than imported from the app, so a renamed code fails a test.
"""

from __future__ import annotations

from typing import Any

import httpx

PROBLEM_TYPE = "https://jobcost.dev/problems/"


def assert_problem(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is a problem+json document for `status` (and `code`), with no trace of a stack."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json", response.headers
    body = response.json()
    assert {"type", "title", "status", "detail"} <= set(body), body
    assert body["status"] == status
    if code is not None:
        assert body["type"] == PROBLEM_TYPE + code, body
    for leak in ("Traceback", 'File "', "sqlalchemy", "asyncpg", "jwt."):
        assert leak not in response.text, response.text
    return body


def assert_unauthenticated(response: httpx.Response, code: str = "not-authenticated") -> dict[str, Any]:
    """401 with the Bearer challenge that RFC 6750 requires."""
    body = assert_problem(response, 401, code)
    assert response.headers.get("www-authenticate") == "Bearer"
    return body
