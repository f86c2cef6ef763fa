"""Read API tokens (`jobcost tokens create --scope read [--team …]`): the service and the HTTP side.

The access matrix (`tests/access/`) checks what a read token for every team and one for team nlp read on every
route; here: creating them (team names resolved, unknown ones refused by name), a deleted team narrowing a token
to nothing rather than widening it to everything, the use being recorded at most once a minute, and the 403 of a
read token on the routes it may not call.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import delete, select

from app.auth.api_tokens import READ_USE_RESOLUTION, ApiTokenService
from app.core.errors import UnprocessableError
from app.db.models import ApiToken, Team, TokenScope, api_token_teams
from app.teams.service import ensure_teams
from tests.api.problems import assert_problem
from tests.factories import create_read_token, token_headers
from tests.ingestion.conftest import INGEST, ingest_ok, job, post_jobs

API = "/api/v1"
ISSUED = datetime(2026, 3, 1, 10, 20, 30, tzinfo=UTC)


@pytest.fixture
def tokens(session, settings) -> ApiTokenService:
    return ApiTokenService(session, settings)


async def stored(sessionmaker, token_id) -> ApiToken:  # noqa: ANN001
    async with sessionmaker() as session:
        return (await session.execute(select(ApiToken).where(ApiToken.id == token_id))).scalar_one()


async def test_a_read_token_names_its_teams_as_team_names_compare(tokens: ApiTokenService, session) -> None:
    teams = await ensure_teams(session, ["NLP Research", "vision", "audio"])

    issued = await tokens.create(TokenScope.read, 30, "grafana", teams=["  nlp research ", "VISION", "vision"],
                                 now=ISSUED)
    await session.commit()

    row = (await session.execute(select(ApiToken))).scalar_one()
    assert (row.scope, row.limited_to_teams) == (TokenScope.read, True)
    linked = set((await session.execute(select(api_token_teams.c.team_id))).scalars())
    assert linked == {teams["nlp research"].id, teams["vision"].id}
    assert await tokens.readable_team_ids(issued.record) == frozenset(linked)


async def test_a_read_token_without_teams_reads_every_team(tokens: ApiTokenService, session) -> None:
    await ensure_teams(session, ["nlp"])
    issued = await tokens.create("read", 30)
    assert issued.record.limited_to_teams is False
    assert await tokens.readable_team_ids(issued.record) is None
    assert (await session.execute(select(api_token_teams))).all() == []


async def test_unknown_teams_are_refused_naming_each(tokens: ApiTokenService, session) -> None:
    await ensure_teams(session, ["nlp"])
    with pytest.raises(UnprocessableError) as refused:
        await tokens.create(TokenScope.read, 30, teams=["nlp", "ghost", "Phantom"])
    assert "no team named 'Phantom', 'ghost'" in refused.value.detail
    with pytest.raises(UnprocessableError, match="blank"):
        await tokens.create(TokenScope.read, 30, teams=["  "])
    assert (await session.execute(select(ApiToken))).all() == []


async def test_an_ingest_token_cannot_be_limited_to_teams(tokens: ApiTokenService, session) -> None:
    await ensure_teams(session, ["nlp"])
    with pytest.raises(UnprocessableError, match="only a read token"):
        await tokens.create(TokenScope.ingest, 30, teams=["nlp"])


async def test_a_deleted_team_narrows_the_token_never_widens_it(tokens: ApiTokenService, session) -> None:
    teams = await ensure_teams(session, ["nlp", "vision"])
    issued = await tokens.create(TokenScope.read, 30, teams=["nlp"])
    await session.flush()

    await session.execute(delete(Team).where(Team.id == teams["nlp"].id))

    # Its only team gone, the token reads nothing (an empty set), not every team (None).
    assert await tokens.readable_team_ids(issued.record) == frozenset()


async def test_a_read_token_reads_and_records_its_use_at_most_once_a_minute(
        client: httpx.AsyncClient, sessionmaker, settings, admin_headers) -> None:
    await ingest_ok(client, admin_headers, [job("nlp-001", team="nlp")])
    issued = await create_read_token(sessionmaker, settings, teams=["nlp"])
    headers = token_headers(issued.token)
    assert (await stored(sessionmaker, issued.record.id)).last_used_at is None

    response = await client.get(f"{API}/jobs/nlp-001", headers=headers)
    assert response.status_code == 200, response.text
    first = (await stored(sessionmaker, issued.record.id)).last_used_at
    assert first is not None

    assert (await client.get(f"{API}/jobs", headers=headers)).status_code == 200
    assert (await stored(sessionmaker, issued.record.id)).last_used_at == first  # within the minute: not written

    # A use older than the resolution is written again.
    async with sessionmaker() as session:
        row = await session.get(ApiToken, issued.record.id)
        assert row is not None
        row.last_used_at = first - READ_USE_RESOLUTION - timedelta(seconds=1)
        await session.commit()
    assert (await client.get(f"{API}/prices", headers=headers)).status_code == 200
    assert (await stored(sessionmaker, issued.record.id)).last_used_at >= first


async def test_a_refused_read_records_no_use(client: httpx.AsyncClient, sessionmaker, settings) -> None:
    issued = await create_read_token(sessionmaker, settings)
    response = await client.get(f"{API}/jobs", params={"limit": 500}, headers=token_headers(issued.token))
    assert response.status_code == 422
    assert (await stored(sessionmaker, issued.record.id)).last_used_at is None


async def test_a_read_token_may_not_ingest_or_manage(client: httpx.AsyncClient, sessionmaker, settings) -> None:
    headers = token_headers((await create_read_token(sessionmaker, settings)).token)
    for response in (await post_jobs(client, headers, [job("r-001")]),
                     await client.post(f"{INGEST}/mock", headers=headers),
                     await client.get(f"{API}/auth/me", headers=headers),
                     await client.get(f"{API}/admin/users", headers=headers)):
        body = assert_problem(response, 403, "forbidden")
        assert "may only read" in body["detail"], body
        # It names every route a read token may call (docs/tokens.md), budgets and the export too.
        for route in ("/api/v1/jobs", "/api/v1/analytics/", "/api/v1/budgets", "/api/v1/prices",
                      "/api/v1/export/focus"):
            assert route in body["detail"], (route, body)
        assert "www-authenticate" not in response.headers


async def test_a_revoked_read_token_is_refused_at_once(client: httpx.AsyncClient, sessionmaker, settings) -> None:
    issued = await create_read_token(sessionmaker, settings)
    headers = token_headers(issued.token)
    assert (await client.get(f"{API}/jobs", headers=headers)).status_code == 200
    async with sessionmaker() as session:
        await ApiTokenService(session, settings).revoke(issued.record.id)
        await session.commit()
    body = assert_problem(await client.get(f"{API}/jobs", headers=headers), 401)
    assert body["detail"] == "This API token has been revoked"
