"""Who sees which jobs through `/jobs` (DESIGN.md "API v1"): a member lists and reads only its teams' jobs, a
filter naming another team (existing or not, by name or id) is a 403, another team's job reads as a 404 like a
missing one, and no token is a 401 with the Bearer challenge. The member signs in through the login endpoint.
"""

from __future__ import annotations

import uuid

import pytest

from app.db.models import Role
from tests.api.problems import assert_problem, assert_unauthenticated
from tests.factories import bearer, create_user
from tests.ingestion.conftest import ingest_ok, job
from tests.jobs.conftest import JOBS, get_job, ids, list_jobs, list_ok, team_id


@pytest.fixture
async def member_headers(client, admin_headers, sessionmaker, settings) -> dict[str, str]:
    await ingest_ok(client, admin_headers, [
        job("v-1", team="vision"), job("v-2", team="vision", started_at="2026-01-14T09:00:00Z"),
        job("n-1", team="nlp"), job("s-1", team="secret"), job("s/2", team="secret")])
    await create_user(sessionmaker, settings, "member@example.test", role=Role.member, teams=[" Vision", "NLP"])
    return await bearer(client, "member@example.test")


async def test_a_member_lists_only_its_teams_jobs(client, member_headers, sessionmaker) -> None:
    body = await list_ok(client, member_headers)
    assert ids(body) == ["v-2", "n-1", "v-1"] and body["total"] == 3
    nlp = await team_id(sessionmaker, "nlp")
    assert ids(await list_ok(client, member_headers, {"team_id": nlp})) == ["n-1"]
    assert ids(await list_ok(client, member_headers, {"team": " VISION "})) == ["v-2", "v-1"]
    assert (await list_ok(client, member_headers, {"team": "vision", "team_id": nlp}))["total"] == 0


async def test_a_member_filtering_on_another_team_gets_a_403_whether_or_not_it_exists(
        client, member_headers, sessionmaker) -> None:
    secret = await team_id(sessionmaker, "secret")
    for params in ({"team": "secret"}, {"team": "no-such-team"}, {"team_id": secret},
                   {"team_id": str(uuid.UUID(int=7))}, {"team": "nlp", "team_id": secret}):
        assert_problem(await list_jobs(client, member_headers, params), 403, "forbidden")


async def test_a_member_reading_another_teams_job_gets_the_same_404_as_for_a_missing_one(
        client, member_headers) -> None:
    assert (await get_job(client, member_headers, "v-1", {"include": "snapshots"})).status_code == 200
    foreign = assert_problem(await get_job(client, member_headers, "s/2"), 404, "not-found")
    missing = assert_problem(await get_job(client, member_headers, "s/3"), 404, "not-found")
    assert {k: v for k, v in foreign.items() if k != "detail"} == {k: v for k, v in missing.items() if k != "detail"}


async def test_without_a_token_both_routes_are_401(client) -> None:
    assert_unauthenticated(await client.get(JOBS))
    assert_unauthenticated(await client.get(f"{JOBS}/v-1"))
