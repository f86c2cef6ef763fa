"""Query parameters of the GET endpoints: one value each (only the filters that say so repeat), no unknown names.
FastAPI alone would let the last of `team=a&team=b` win and ignore `tz=…`, answering a question nobody asked."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest


@pytest.mark.parametrize(("path", "query", "name"), [
    ("/api/v1/jobs", "limit=1&limit=200", "limit"),
    ("/api/v1/jobs", "team=a&status=running&team=b", "team"),
    ("/api/v1/jobs", "skip=0&skip=0", "skip"),
    ("/api/v1/jobs/some-job", "include=snapshots&include=snapshots", "include"),
    ("/api/v1/analytics/cost/by-team", "start=2026-01-01&start=2026-01-20", "start"),
    ("/api/v1/analytics/cost/by-model", "team=vision&team=nlp", "team"),
])
async def test_a_parameter_given_twice_is_refused(client: httpx.AsyncClient, admin_headers: dict[str, str], path: str,
                                                  query: str, name: str) -> None:
    response = await client.get(f"{path}?{query}", headers=admin_headers)

    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [
        {"loc": ["query", name], "msg": "must be given at most once", "type": "repeated_parameter"}]


async def test_status_may_repeat(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    response = await client.get("/api/v1/jobs?status=running&status=queued&status=running", headers=admin_headers)

    assert response.status_code == 200, response.text


@pytest.mark.parametrize(("path", "name"), [
    ("/api/v1/jobs", "offset"), ("/api/v1/jobs", "order_by"), ("/api/v1/jobs/some-job", "expand"),
    ("/api/v1/analytics/cost/by-team", "tz"), ("/api/v1/analytics/cost/by-model", "group_by"),
])
async def test_an_unknown_parameter_is_refused(client: httpx.AsyncClient, admin_headers: dict[str, str], path: str,
                                               name: str) -> None:
    response = await client.get(path, params={name: "x"}, headers=admin_headers)

    assert response.status_code == 422, response.text
    assert [(e["loc"], e["type"]) for e in response.json()["errors"]] == [(["query", name], "extra_forbidden")]


# Values for the path parameters of the API's GET routes, by name (an absent operation or webhook is a 404 after the
# query is checked, so any id does).
_PATH_VALUES = {"job_id": "some-job", "operation_id": "00000000-0000-4000-8000-000000000000",
                "webhook_id": "00000000-0000-4000-8000-000000000000"}
# Parameters a route needs for a 200, so that the walk below sees the refusal of the extra one and nothing else.
_REQUIRED = {"/api/v1/analytics/forecast": {"as_of": "2026-01-12"},
             "/api/v1/analytics/anomalies": {"start": "2026-01-01", "end": "2026-01-31"},
             "/api/v1/export/focus": {"start": "2026-01-01", "end": "2026-01-31"}}


def _get_routes(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(path template, operation) of every GET operation under /api/v1 in the OpenAPI document."""
    return [(path, operations["get"]) for path, operations in spec["paths"].items()
            if path.startswith("/api/v1/") and "get" in operations]


def _url(template: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: _PATH_VALUES[m.group(1)], template)


@pytest.fixture
async def spec(client: httpx.AsyncClient) -> dict[str, Any]:
    return (await client.get("/openapi.json")).json()


async def test_every_get_route_refuses_an_unknown_parameter(client: httpx.AsyncClient, admin_headers: dict[str, str],
                                                            spec: dict[str, Any]) -> None:
    """Every GET of the API, walked from the OpenAPI document (so a route added later is walked too): `bogus=1`
    is a 422 naming `bogus`, and the route documents its 422."""
    routes = _get_routes(spec)
    assert len(routes) >= 18, [path for path, _ in routes]  # the walk found the API (19 GET routes when written)
    for path, operation in routes:
        response = await client.get(_url(path), params={**_REQUIRED.get(path, {}), "bogus": "1"},
                                    headers=admin_headers)
        assert response.status_code == 422, (path, response.text)
        assert response.json()["errors"] == [
            {"loc": ["query", "bogus"], "msg": "Extra inputs are not permitted", "type": "extra_forbidden"}], path
        assert "422" in operation["responses"], path


async def test_every_get_route_refuses_a_single_valued_parameter_given_twice(
        client: httpx.AsyncClient, admin_headers: dict[str, str], spec: dict[str, Any]) -> None:
    """Each query parameter the OpenAPI document declares single-valued (not an array) is refused given twice, on
    every GET of the API."""
    checked = 0
    for path, operation in _get_routes(spec):
        for parameter in operation.get("parameters", []):
            schema = parameter["schema"]
            if parameter["in"] != "query" or "array" in {schema.get("type"), *(s.get("type") for s in
                                                                                schema.get("anyOf", []))}:
                continue
            name = parameter["name"]
            query = {**_REQUIRED.get(path, {}), name: "1"}
            text = "&".join(f"{k}={v}" for k, v in query.items()) + f"&{name}=2"
            response = await client.get(f"{_url(path)}?{text}", headers=admin_headers)
            assert response.status_code == 422, (path, name, response.text)
            assert response.json()["errors"] == [
                {"loc": ["query", name], "msg": "must be given at most once", "type": "repeated_parameter"}], \
                (path, name)
            checked += 1
    assert checked >= 20, checked
