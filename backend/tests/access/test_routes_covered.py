"""Every `/api/v1` route has a scoping decision here, and is called accordingly.

`ROUTES` says, for each route of the application, who may call it: anyone (`public`: signing in), anyone signed in
(`signed_in`), anyone signed in within its teams (`scoped`: the answer narrowed to the caller's teams), or admins
only (`admin`: 403 for members). A route added to the app without an entry here fails
`test_every_api_route_has_an_access_decision`; an entry whose route is gone fails it too.

An ingest API token (`jobcost tokens create --scope ingest`) is a caller too: it gets `ingest_status`, a 403 unless
a rule says otherwise (only the two ingest routes, and sign-in, which reads no token, do); revoked or expired, it
is a 401 everywhere. So is a read API token (`jobcost tokens create --scope read [--team …]`): on a route marked
`readable` it gets what a caller reading the same teams gets (an admin for every team, a member of its teams),
everywhere else a 403; revoked or expired, a 401 everywhere.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from app.auth.api_tokens import ApiTokenService, IssuedToken
from tests.access.conftest import (
    ADMIN,
    ANA,
    API,
    MEMBERS,
    MEMBERSHIP,
    READ_ALL,
    READ_NLP,
    READERS,
    RECORDS,
    Matrix,
    email,
)
from tests.api.problems import assert_problem, assert_unauthenticated
from tests.factories import DEFAULT_PASSWORD, create_ingest_token, create_read_token, token_headers
from tests.ingestion.conftest import job


class Access(enum.Enum):
    public = "no token needed"
    signed_in = "any signed-in user, whatever its teams"
    scoped = "any signed-in user; the answer holds only the caller's teams"
    admin = "admins only: 403 for members"


@dataclass(frozen=True)
class Rule:
    access: Access
    admin_status: int  # what an admin gets for `request`
    member_status: Callable[[Matrix, str], int]  # what a member gets for `request`
    request: dict[str, Any]  # extra keyword arguments of the call (body, form, query)
    ingest_status: int = 403  # what a valid ingest API token gets for `request`: refused unless said otherwise
    readable: bool = False  # a read API token may call it (and then gets `member_status` for its teams)
    read_token_status: int | None = None  # what every read token gets, where members get something else

    def read_status(self, matrix: Matrix, reader: str) -> int:
        """What read token `reader` gets for `request`."""
        if self.access is Access.public:
            return 200
        if self.read_token_status is not None:
            return self.read_token_status
        return self.member_status(matrix, reader) if self.readable else 403


def always(status: int) -> Callable[[Matrix, str], int]:
    return lambda matrix, caller: status


# Values of the path parameters of the routes (every route's template is filled from here).
DETAIL_JOB = "nlp-001"  # read through /jobs/{job_id}
DELETED_JOB = "nlp/003"  # deleted by the admin; a member of its team still may not
NEW_JOB = "access-new-001"
PATH_PARAMS: dict[str, dict[str, str]] = {
    f"{API}/jobs/{{job_id:job_id}}": {"job_id": DETAIL_JOB},
    f"{API}/admin/jobs/{{job_id:job_id}}": {"job_id": DELETED_JOB},
    f"{API}/operations/{{operation_id}}": {"operation_id": "00000000-0000-4000-8000-000000000000"},  # none: 404
    f"{API}/admin/prices/{{rate_id}}": {"rate_id": "00000000-0000-4000-8000-000000000000"},  # none: 404
    f"{API}/admin/budgets/{{budget_id}}": {"budget_id": "00000000-0000-4000-8000-000000000000"},  # none: 404
    f"{API}/admin/webhooks/{{webhook_id}}": {"webhook_id": "00000000-0000-4000-8000-000000000000"},  # none: 404
    f"{API}/admin/webhooks/{{webhook_id}}/deliveries": {"webhook_id": "00000000-0000-4000-8000-000000000000"},
}

ROUTES: dict[tuple[str, str], Rule] = {
    ("POST", f"{API}/auth/token"): Rule(
        Access.public, 200, always(200), {"data": {"username": email(ANA), "password": DEFAULT_PASSWORD}},
        ingest_status=200),
    ("GET", f"{API}/auth/me"): Rule(Access.signed_in, 200, always(200), {}),
    ("GET", f"{API}/prices"): Rule(Access.signed_in, 200, always(200), {}, readable=True),
    ("GET", f"{API}/energy/coefficients"): Rule(Access.signed_in, 200, always(200), {}, read_token_status=200),
    ("POST", f"{API}/admin/energy/coefficients"): Rule(Access.admin, 200, always(403), {"json": {"overrides": [
        {"kind": "pue", "provider": "onprem", "pue": "1.3"}]}}),
    ("DELETE", f"{API}/admin/energy/coefficients"): Rule(Access.admin, 404, always(403),
                                                         {"params": {"kind": "gpu", "gpu_type": "T4"}}),
    ("GET", f"{API}/admin/energy/coefficients/changes"): Rule(Access.admin, 200, always(403), {}),
    ("GET", f"{API}/jobs"): Rule(Access.scoped, 200, always(200), {}, readable=True),
    # the same list, with a trailing slash
    ("GET", f"{API}/jobs/"): Rule(Access.scoped, 200, always(200), {}, readable=True),
    ("GET", f"{API}/jobs/{{job_id:job_id}}"): Rule(
        Access.scoped, 200, lambda matrix, caller: 200 if DETAIL_JOB in matrix.job_ids_of(caller) else 404, {},
        readable=True),
    ("GET", f"{API}/analytics/cost"): Rule(Access.scoped, 200, always(200), {}, readable=True),
    ("GET", f"{API}/analytics/cost/by-team"): Rule(Access.scoped, 200, always(200), {}, readable=True),
    ("GET", f"{API}/analytics/cost/by-model"): Rule(Access.scoped, 200, always(200), {}, readable=True),
    ("GET", f"{API}/analytics/forecast"): Rule(Access.scoped, 200, always(200), {"params": {"as_of": "2026-01-12"}},
                                               readable=True),
    ("GET", f"{API}/analytics/anomalies"): Rule(
        Access.scoped, 200, always(200), {"params": {"start": "2026-01-01", "end": "2026-01-31"}}, readable=True),
    ("GET", f"{API}/admin/users"): Rule(Access.admin, 200, always(403), {}),
    ("POST", f"{API}/admin/ingest/jobs"): Rule(
        Access.admin, 200, always(403), {"json": {"jobs": [job(NEW_JOB, team="nlp")]}}, ingest_status=200),
    ("POST", f"{API}/admin/ingest/jobs/mock"): Rule(Access.admin, 200, always(403), {}, ingest_status=200),
    ("DELETE", f"{API}/admin/jobs/{{job_id:job_id}}"): Rule(Access.admin, 204, always(403), {}),
    ("POST", f"{API}/admin/prices/recost"): Rule(Access.admin, 200, always(403), {"json": {"since": "2026-01-01"}}),
    ("GET", f"{API}/operations/{{operation_id}}"): Rule(Access.admin, 404, always(403), {}),
    ("POST", f"{API}/admin/prices"): Rule(Access.admin, 201, always(403), {"json": {"rates": [
        {"provider": "onprem", "gpu_type": "V100", "usd_per_gpu_hour": "2.10",
         "valid_from": "2019-01-01T00:00:00Z"}]}}),
    ("DELETE", f"{API}/admin/prices/{{rate_id}}"): Rule(Access.admin, 404, always(403), {}),
    ("POST", f"{API}/admin/prices/aliases"): Rule(Access.admin, 200, always(403),
                                                  {"json": {"gpu_type": {"V100M16": "V100"}}}),
    ("GET", f"{API}/admin/prices/changes"): Rule(Access.admin, 200, always(403), {}),
    ("GET", f"{API}/budgets"): Rule(Access.scoped, 200, always(200), {}, readable=True),
    ("GET", f"{API}/admin/budgets"): Rule(Access.admin, 200, always(403), {}),
    ("POST", f"{API}/admin/budgets"): Rule(Access.admin, 201, always(403),
                                           {"json": {"team": "nlp", "amount": "100"}}),
    ("PATCH", f"{API}/admin/budgets/{{budget_id}}"): Rule(Access.admin, 404, always(403), {"json": {"amount": "5"}}),
    ("DELETE", f"{API}/admin/budgets/{{budget_id}}"): Rule(Access.admin, 404, always(403), {}),
    ("GET", f"{API}/export/focus"): Rule(Access.admin, 200, always(403),  # and read tokens, for their teams
                                         {"params": {"start": "2026-01-01", "end": "2026-01-31"}},
                                         read_token_status=200),
    ("POST", f"{API}/admin/webhooks"): Rule(Access.admin, 201, always(403), {"json": {
        "url": "http://127.0.0.1:9/hook", "kind": "json", "secret": "access-matrix-secret", "active": False}}),
    ("GET", f"{API}/admin/webhooks"): Rule(Access.admin, 200, always(403), {}),
    ("DELETE", f"{API}/admin/webhooks/{{webhook_id}}"): Rule(Access.admin, 404, always(403), {}),
    ("GET", f"{API}/admin/webhooks/{{webhook_id}}/deliveries"): Rule(Access.admin, 404, always(403), {}),
}
HEALTH = ("/health", "/health/ready")  # outside the prefix, no token


def app_routes(app: Any) -> Iterator[tuple[str, str]]:
    """(method, path template) of every HTTP route the app serves, through included routers too."""
    try:
        from fastapi.routing import iter_route_contexts  # FastAPI >= 0.16x: included routers stay nested
    except ImportError:  # pragma: no cover - older FastAPI flattens included routes into app.routes
        contexts: Any = app.routes
    else:
        contexts = iter_route_contexts(app.routes)
    for route in contexts:
        for method in sorted(getattr(route, "methods", None) or ()):
            yield method, route.path


def api_routes(app: Any) -> list[tuple[str, str]]:
    return sorted({(m, p) for m, p in app_routes(app) if p == API or p.startswith(API + "/")})


def url(path: str) -> str:
    def fill(match: re.Match[str]) -> str:
        return PATH_PARAMS[path][match.group(1)]

    return re.sub(r"\{(\w+)(?::\w+)?\}", fill, path)


async def call(client: httpx.AsyncClient, method: str, path: str, headers: dict[str, str] | None = None
               ) -> httpx.Response:
    return await client.request(method, url(path), headers=headers or {}, **ROUTES[(method, path)].request)


async def test_every_api_route_has_an_access_decision(app) -> None:
    served = api_routes(app)
    assert served, "no /api/v1 route found: the route walk is broken"
    undecided = [r for r in served if r not in ROUTES]
    assert not undecided, f"routes without an access rule in {__name__}.ROUTES: {undecided}"
    stale = [r for r in ROUTES if r not in served]
    assert not stale, f"rules for routes the app no longer serves: {stale}"
    for method, path in served:
        if "{" in path:
            assert path in PATH_PARAMS, f"{method} {path}: add its path parameters to PATH_PARAMS"
    # The health probes and /metrics are the only routes outside the prefix besides the API docs and the dashboard.
    outside = {p for _, p in app_routes(app) if not p.startswith(API + "/")}
    assert outside <= {*HEALTH, "/metrics", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/"}, outside


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-jwt", "Basic YWRtaW46YWRtaW4=", "Bearer "],
                         ids=["no-header", "garbage-token", "basic-scheme", "empty-token"])
async def test_without_a_valid_token_every_route_but_sign_in_is_401(client, app, matrix: Matrix,
                                                                     authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    for method, path in api_routes(app):
        response = await call(client, method, path, headers)
        if ROUTES[(method, path)].access is Access.public:
            assert response.status_code == 200, (method, path, response.text)
        else:
            assert response.status_code == 401, (method, path, authorization, response.text)
            assert_unauthenticated(response)
    # Nothing was written by the refused calls.
    admin = matrix.headers[ADMIN]
    assert (await client.get(f"{API}/jobs/{DELETED_JOB}", headers=admin)).status_code == 200
    listed = await client.get(f"{API}/jobs", params={"limit": 100}, headers=admin)
    assert listed.json()["total"] == len(RECORDS)
    for path in HEALTH:
        response = await client.get(path, headers=headers)
        assert response.status_code == 200, (path, response.text)


@pytest.mark.parametrize("caller", MEMBERS)
async def test_a_member_is_refused_admin_routes_and_served_the_others(client, app, matrix: Matrix,
                                                                      caller: str) -> None:
    for method, path in api_routes(app):
        rule = ROUTES[(method, path)]
        response = await call(client, method, path, matrix.headers[caller])
        expected = rule.member_status(matrix, caller)
        assert response.status_code == expected, (caller, method, path, response.text)
        if rule.access is Access.admin:
            body = assert_problem(response, 403, "forbidden")
            assert "admin" in body["detail"]
            assert "www-authenticate" not in response.headers

    me = (await client.get(f"{API}/auth/me", headers=matrix.headers[caller])).json()
    assert (me["email"], me["role"]) == (email(caller), "member")
    assert sorted(t["name"] for t in me["teams"]) == sorted(MEMBERSHIP[caller])
    assert {t["id"] for t in me["teams"]} == {matrix.team_ids[t] for t in MEMBERSHIP[caller]}
    # The refused admin calls changed nothing: the job a member of its team tried to delete is still there, and
    # neither the posted job nor the demo jobs were ingested.
    admin = matrix.headers[ADMIN]
    assert (await client.get(f"{API}/jobs/{DELETED_JOB}", headers=admin)).status_code == 200
    assert (await client.get(f"{API}/jobs/{NEW_JOB}", headers=admin)).status_code == 404
    listed = await client.get(f"{API}/jobs", params={"limit": 100}, headers=admin)
    assert sorted(j["job_id"] for j in listed.json()["jobs"]) == sorted(r.job_id for r in RECORDS)


async def test_an_admin_may_call_every_route(client, app, matrix: Matrix) -> None:
    for method, path in api_routes(app):
        response = await call(client, method, path, matrix.headers[ADMIN])
        assert response.status_code == ROUTES[(method, path)].admin_status, (method, path, response.text)
    admin = matrix.headers[ADMIN]
    assert (await client.get(f"{API}/jobs/{DELETED_JOB}", headers=admin)).status_code == 404
    assert (await client.get(f"{API}/jobs/{NEW_JOB}", headers=admin)).status_code == 200
    me = (await client.get(f"{API}/auth/me", headers=admin)).json()
    assert (me["email"], me["role"]) == (email(ADMIN), "admin")


async def test_an_ingest_token_may_ingest_and_nothing_else(client, app, matrix: Matrix, sessionmaker,
                                                           settings) -> None:
    ingest = token_headers((await create_ingest_token(sessionmaker, settings)).token)
    for method, path in api_routes(app):
        rule = ROUTES[(method, path)]
        response = await call(client, method, path, ingest)
        assert response.status_code == rule.ingest_status, (method, path, response.text)
        if rule.ingest_status == 403:
            body = assert_problem(response, 403, "forbidden")
            assert "may only ingest" in body["detail"], (method, path, body)
            assert "www-authenticate" not in response.headers
    # It ingested (the posted job, and the 30 demo jobs) and deleted nothing.
    admin = matrix.headers[ADMIN]
    assert (await client.get(f"{API}/jobs/{NEW_JOB}", headers=admin)).status_code == 200
    assert (await client.get(f"{API}/jobs/{DELETED_JOB}", headers=admin)).status_code == 200
    listed = await client.get(f"{API}/jobs", params={"limit": 100}, headers=admin)
    assert listed.json()["total"] == len(RECORDS) + 1 + 30


@pytest.mark.parametrize("reader", READERS)
async def test_a_read_token_may_read_its_teams_and_nothing_else(client, app, matrix: Matrix, reader: str) -> None:
    for method, path in api_routes(app):
        rule = ROUTES[(method, path)]
        response = await call(client, method, path, matrix.headers[reader])
        assert response.status_code == rule.read_status(matrix, reader), (reader, method, path, response.text)
        if response.status_code == 403:
            body = assert_problem(response, 403, "forbidden")
            assert "may only read" in body["detail"], (method, path, body)
            assert "www-authenticate" not in response.headers
    # It wrote nothing: the job an admin route would delete is there, nothing was ingested.
    admin = matrix.headers[ADMIN]
    assert (await client.get(f"{API}/jobs/{DELETED_JOB}", headers=admin)).status_code == 200
    assert (await client.get(f"{API}/jobs/{NEW_JOB}", headers=admin)).status_code == 404
    listed = await client.get(f"{API}/jobs", params={"limit": 100}, headers=admin)
    assert listed.json()["total"] == len(RECORDS)


async def test_the_read_tokens_read_what_the_table_says(client, matrix: Matrix) -> None:
    """The anchor of `read_status`: the unlimited token reads the audio job, the nlp token does not."""
    assert (await client.get(f"{API}/jobs/audio-001", headers=matrix.headers[READ_ALL])).status_code == 200
    assert (await client.get(f"{API}/jobs/audio-001", headers=matrix.headers[READ_NLP])).status_code == 404
    assert (await client.get(f"{API}/jobs/{DETAIL_JOB}", headers=matrix.headers[READ_NLP])).status_code == 200


async def _ended_token(sessionmaker, settings, scope: str, state: str) -> IssuedToken:  # noqa: ANN001
    make = create_ingest_token if scope == "ingest" else create_read_token
    if state == "expired":  # created 2020-01-01 for 30 days
        return await make(sessionmaker, settings, now=datetime(2020, 1, 1, tzinfo=UTC))
    issued = await make(sessionmaker, settings)
    async with sessionmaker() as session:
        await ApiTokenService(session, settings).revoke(issued.record.id)
        await session.commit()
    return issued


@pytest.mark.parametrize("scope", ["ingest", "read"])
@pytest.mark.parametrize("state", ["revoked", "expired"])
async def test_a_revoked_or_expired_api_token_is_401_everywhere(client, app, matrix: Matrix, sessionmaker,
                                                                settings, state: str, scope: str) -> None:
    issued = await _ended_token(sessionmaker, settings, scope, state)
    for method, path in api_routes(app):
        response = await call(client, method, path, token_headers(issued.token))
        if ROUTES[(method, path)].access is Access.public:
            assert response.status_code == 200, (method, path, response.text)
        else:
            assert_unauthenticated(response)
    listed = await client.get(f"{API}/jobs", params={"limit": 100}, headers=matrix.headers[ADMIN])
    assert listed.json()["total"] == len(RECORDS)
