"""`GET /api/v1/export/focus`: who may call it, and the windows it refuses (422, as analytics does)."""

from __future__ import annotations

import httpx
import pytest

from tests.api.problems import assert_problem, assert_unauthenticated
from tests.export.conftest import FOCUS


@pytest.mark.parametrize(("params", "field", "type_"), [
    ({"start": "2026-01-31", "end": "2026-01-01"}, "end", "window_reversed"),
    ({"start": "2026-01-01"}, "end", "missing"),
    ({"end": "2026-01-01"}, "start", "missing"),
    ({"start": "2026-02-30", "end": "2026-03-01"}, "start", "date_range"),
    ({"start": "2026-01-01T00:00:00Z", "end": "2026-01-02"}, "start", "date_format"),
    ({"start": "2025-01-01", "end": "2026-01-02"}, "end", "window_too_long"),  # 367 days
    ({"start": "2026-01-01", "end": "2026-01-02", "tz": "Europe/Paris"}, "tz", "extra_forbidden"),
], ids=["reversed", "no-end", "no-start", "not-a-date", "timestamp", "too-long", "unknown"])
async def test_bad_windows_are_422_naming_the_field(client: httpx.AsyncClient, admin_headers: dict[str, str],
                                                    params: dict[str, str], field: str, type_: str) -> None:
    response = await client.get(FOCUS, params=params, headers=admin_headers)
    body = assert_problem(response, 422, "validation-error")
    assert [(e["loc"], e["type"]) for e in body["errors"]] == [(["query", field], type_)], body


async def test_a_leap_year_fits_in_one_window(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    response = await client.get(FOCUS, params={"start": "2028-01-01", "end": "2028-12-31"}, headers=admin_headers)
    assert response.status_code == 200, response.text


async def test_a_repeated_parameter_is_422(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    response = await client.get(f"{FOCUS}?start=2026-01-01&start=2026-01-02&end=2026-01-31", headers=admin_headers)
    body = assert_problem(response, 422, "validation-error")
    assert body["errors"][0]["loc"] == ["query", "start"]


async def test_members_are_refused_and_anonymous_callers_unauthenticated(
        client: httpx.AsyncClient, member_headers: dict[str, str]) -> None:
    params = {"start": "2026-01-01", "end": "2026-01-31"}
    body = assert_problem(await client.get(FOCUS, params=params, headers=member_headers), 403, "forbidden")
    assert "admin" in body["detail"]
    # Authentication comes first: no token is a 401 even for a bad window.
    assert_unauthenticated(await client.get(FOCUS, params={"start": "x"}))
