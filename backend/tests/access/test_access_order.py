"""Authentication comes before anything else about the request: a caller without a valid token learns nothing from
a 422 about its query, and a job id holding a line break is answered like any other id (401 without a token, a
404 problem with one), never by the router's "no such route" nor as the job whose id it ends with."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.access.conftest import ADMIN, ANA, API, READ_ALL, Matrix
from tests.access.test_routes_covered import ROUTES, Access, Rule, api_routes, url
from tests.api.problems import assert_problem, assert_unauthenticated
from tests.factories import create_ingest_token, token_headers

# Every kind of bad query at once: repeated, unknown, out of range, malformed.
BAD_QUERY = "skip=1&skip=2&limit=0&limit=5000&nonsense=1&start=yesterday&team_id=x&team_id=y&include=all"


def bad_query_call(path: str, rule: Rule) -> tuple[str, dict[str, Any]]:
    """The URL with BAD_QUERY added to the route's own parameters, and the call's other keyword arguments: httpx's
    `params=` would replace a URL's query, and the routes needing parameters (the export, the forecasts) were
    then sent a good query only."""
    kwargs = dict(rule.request)
    params = kwargs.pop("params", {})
    return f"{url(path)}?{BAD_QUERY}" + "".join(f"&{k}={v}" for k, v in params.items()), kwargs


async def test_without_a_token_a_bad_query_is_401_not_422(client, app, matrix: Matrix) -> None:
    for method, path in api_routes(app):
        if ROUTES[(method, path)].access is Access.public:
            continue
        target, kwargs = bad_query_call(path, ROUTES[(method, path)])
        response = await client.request(method, target, **kwargs)
        assert response.status_code == 401, (method, path, response.text)
        assert_unauthenticated(response)


async def test_a_member_on_an_admin_route_with_a_bad_query_is_403_not_422(client, app, matrix: Matrix) -> None:
    for method, path in api_routes(app):
        if ROUTES[(method, path)].access is not Access.admin:
            continue
        target, kwargs = bad_query_call(path, ROUTES[(method, path)])
        response = await client.request(method, target, headers=matrix.headers[ANA], **kwargs)
        assert_problem(response, 403, "forbidden")


async def test_an_ingest_token_on_a_read_route_with_a_bad_query_is_403_not_422(client, app, matrix: Matrix,
                                                                                sessionmaker, settings) -> None:
    ingest = token_headers((await create_ingest_token(sessionmaker, settings)).token)
    for method, path in api_routes(app):
        rule = ROUTES[(method, path)]
        if rule.access is Access.public or rule.ingest_status != 403:
            continue
        target, kwargs = bad_query_call(path, rule)
        response = await client.request(method, target, headers=ingest, **kwargs)
        body = assert_problem(response, 403, "forbidden")
        assert "may only ingest" in body["detail"], (method, path, body)


async def test_a_read_token_on_a_route_it_may_not_call_with_a_bad_query_is_403_not_422(client, app,
                                                                                       matrix: Matrix) -> None:
    for method, path in api_routes(app):
        rule = ROUTES[(method, path)]
        if rule.access is Access.public or rule.read_status(matrix, READ_ALL) != 403:
            continue
        target, kwargs = bad_query_call(path, rule)
        response = await client.request(method, target, headers=matrix.headers[READ_ALL], **kwargs)
        body = assert_problem(response, 403, "forbidden")
        assert "may only read" in body["detail"], (method, path, body)


async def test_the_same_query_is_still_a_422_once_authenticated(client, matrix: Matrix) -> None:
    response = await client.get(f"{API}/jobs?skip=1&skip=2", headers=matrix.headers[ADMIN])

    body = assert_problem(response, 422, "validation-error")
    assert {"loc": ["query", "skip"], "msg": "must be given at most once", "type": "repeated_parameter"} in \
        body["errors"]


# `%0A` is a line break: at the start, inside, alone, and at the end of an id that does exist (nlp-001).
LINE_BREAK_IDS = ("%0Ax", "a%0Ab", "%0A", "nlp-001%0A", "nlp-001%0D%0A", "%0A%0A")


@pytest.mark.parametrize("job_id", LINE_BREAK_IDS)
async def test_a_job_id_with_a_line_break_is_401_without_a_token(client, matrix: Matrix, job_id: str) -> None:
    for method, prefix in (("GET", f"{API}/jobs"), ("DELETE", f"{API}/admin/jobs")):
        response = await client.request(method, f"{prefix}/{job_id}")
        assert_unauthenticated(response)


# `%0A` alone is left out: Starlette's route patterns end in `$`, which matches before a final line break, so
# `/jobs/%0A` is the list `/jobs/` (as `/auth/me%0A` is `/auth/me`), authenticated like it.
@pytest.mark.parametrize("job_id", ["%0Ax", "a%0Ab", "%0A%0A", "nlp%0A-001"])
async def test_a_job_id_with_a_line_break_is_a_404_problem_with_a_token(client, matrix: Matrix,
                                                                        job_id: str) -> None:
    admin = matrix.headers[ADMIN]
    for method, prefix in (("GET", f"{API}/jobs"), ("DELETE", f"{API}/admin/jobs")):
        response = await client.request(method, f"{prefix}/{job_id}", headers=admin)
        assert_problem(response, 404, "not-found")
    assert (await client.get(f"{API}/jobs/nlp-001", headers=admin)).json()["job_id"] == "nlp-001"


async def test_a_final_line_break_is_trimmed_as_at_ingest(client, matrix: Matrix) -> None:
    # Ingest trims a job id's surrounding white space, so the path's does too: this is nlp-001, not a stray route.
    for job_id in ("nlp-001%0A", "nlp-001%0D%0A", "%0Anlp-001"):
        response = await client.get(f"{API}/jobs/{job_id}", headers=matrix.headers[ADMIN])
        assert response.status_code == 200, (job_id, response.text)
        assert response.json()["job_id"] == "nlp-001"


async def test_a_route_that_does_not_exist_is_a_404_problem(client: httpx.AsyncClient) -> None:
    for path in (f"{API}/nothing", f"{API}/%0Ax", f"{API}/jobs%0Ax"):
        assert_problem(await client.get(path), 404, "not-found")
