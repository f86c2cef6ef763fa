"""Query parameters of the read endpoints: one value each (only `status` repeats), no unknown names. FastAPI alone
would let the last of `team=a&team=b` win and ignore `tz=…`, answering a question nobody asked."""

from __future__ import annotations

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
    ("/api/v1/jobs", "offset"), ("/api/v1/jobs", "sort"), ("/api/v1/jobs/some-job", "expand"),
    ("/api/v1/analytics/cost/by-team", "tz"), ("/api/v1/analytics/cost/by-model", "group_by"),
])
async def test_an_unknown_parameter_is_refused(client: httpx.AsyncClient, admin_headers: dict[str, str], path: str,
                                               name: str) -> None:
    response = await client.get(path, params={name: "x"}, headers=admin_headers)

    assert response.status_code == 422, response.text
    assert [(e["loc"], e["type"]) for e in response.json()["errors"]] == [(["query", name], "extra_forbidden")]
