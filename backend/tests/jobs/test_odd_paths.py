"""Job ids no job can have, and the list's path with a trailing slash: plain 404s and answers, never a 500.

PostgreSQL cannot even compare text holding a NUL, so an id ingest would refuse must be answered without a query.
"""

from __future__ import annotations

import httpx

from tests.ingestion.conftest import ingest_ok, job
from tests.jobs.conftest import JOBS


async def test_ids_that_no_job_can_have_are_404s(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    await ingest_ok(client, admin_headers, [job("abc")])
    for path in ("abc%00def", "abc%00", "%00", "a%0Ab", "a%E2%80%8Bb", "x" * 300, "%20%20"):
        for method in ("GET", "DELETE"):
            url = f"{JOBS}/{path}" if method == "GET" else f"/api/v1/admin/jobs/{path}"
            response = await client.request(method, url, headers=admin_headers)
            assert response.status_code == 404, (method, path, response.text)
            assert response.json()["type"].endswith("/not-found")
    assert (await client.get(f"{JOBS}/abc", headers=admin_headers)).status_code == 200


async def test_a_long_id_is_not_echoed_whole(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    response = await client.get(f"{JOBS}/{'y' * 5000}", headers=admin_headers)

    assert response.status_code == 404
    assert len(response.json()["detail"]) < 150


async def test_the_list_answers_with_a_trailing_slash(client: httpx.AsyncClient,
                                                      admin_headers: dict[str, str]) -> None:
    await ingest_ok(client, admin_headers, [job("one"), job("two")])

    response = await client.get(f"{JOBS}/", params={"limit": 1}, headers=admin_headers)

    assert response.status_code == 200, response.text
    assert (response.json()["total"], len(response.json()["jobs"])) == (2, 1)
