"""Known fault F24 on this API: a response must never lazy-load. `Job.team` is `lazy="raise"`, so a listing or a
detail that forgot to load it would fail loudly (500) instead of doing hidden IO; here `GET /jobs?limit=100` and
`GET /jobs/{id}?include=snapshots` return every job's nested team populated (id from the database, name as first
spelt at ingest), also under team filters, and also on a committed database through the app's own lifespan
(its real engine and session factory rather than the test's shared connection).
"""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from app.core.security import create_access_token
from app.db.models import Job, Role, Team, User
from app.main import create_app
from tests.conftest import make_settings
from tests.databases import ScratchDatabase
from tests.ingestion.conftest import ingest_ok, job
from tests.jobs.conftest import get_job, list_ok, team_id
from tests.jobs.snapshots import cost_days

# First spellings, then other spellings of the same teams (kept: the first one seen).
SPELLINGS = ["Vision", "nlp", "Speech Lab", "Ops", "Équipe", " vision ", "NLP", "speech lab", "OPS", "équipe"]


def team_of(i: int) -> str:
    return SPELLINGS[i % len(SPELLINGS)]


DISPLAY = {"vision": "Vision", "nlp": "nlp", "speech lab": "Speech Lab", "ops": "Ops", "équipe": "Équipe"}


def display_name(spelling: str) -> str:
    return DISPLAY[spelling.strip().casefold()]


def test_the_team_relationship_refuses_lazy_loads() -> None:
    assert Job.team.property.lazy == "raise"


async def team_ids(sessionmaker: Any) -> dict[str, str]:
    async with sessionmaker() as session:
        rows = (await session.execute(select(Team.name_key, Team.id))).all()
    return {key: str(tid) for key, tid in rows}


async def test_a_page_of_100_jobs_carries_each_jobs_team(client, admin_headers, sessionmaker) -> None:
    await ingest_ok(client, admin_headers, [job(f"lz-{i:03d}", team=team_of(i)) for i in range(120)])
    keys = await team_ids(sessionmaker)
    body = await list_ok(client, admin_headers, {"limit": 100})
    assert len(body["jobs"]) == 100 and body["total"] == 120
    for item in body["jobs"]:
        i = int(item["job_id"].removeprefix("lz-"))
        key = team_of(i).strip().casefold()
        assert item["team"] == {"id": keys[key], "name": display_name(team_of(i))}, item
    assert len({item["team"]["id"] for item in body["jobs"]}) == 5


async def test_a_team_filtered_page_carries_the_team(client, admin_headers, sessionmaker) -> None:
    await ingest_ok(client, admin_headers, [job(f"lz-{i:03d}", team=team_of(i)) for i in range(40)])
    speech = await team_id(sessionmaker, "speech lab")
    for params in ({"team": "SPEECH LAB"}, {"team_id": speech}):
        body = await list_ok(client, admin_headers, {**params, "limit": 100})
        assert body["total"] == 8
        assert {(j["team"]["id"], j["team"]["name"]) for j in body["jobs"]} == {(speech, "Speech Lab")}


async def test_a_job_with_snapshots_carries_its_team(client, admin_headers, sessionmaker) -> None:
    await ingest_ok(client, admin_headers, [
        job("lz/detail:1", team=" Équipe ", started_at="2026-01-13T22:00:00Z", ended_at="2026-01-14T02:00:00Z")])
    response = await get_job(client, admin_headers, "lz/detail:1", {"include": "snapshots"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["team"] == {"id": await team_id(sessionmaker, "équipe"), "name": "Équipe"}
    assert [s["day"] for s in body["snapshots"]] == ["2026-01-13", "2026-01-14"]
    plain = await get_job(client, admin_headers, "lz/detail:1")
    assert plain.status_code == 200 and plain.json()["team"] == body["team"]


async def test_through_the_app_lifespan_on_a_committed_database_teams_are_populated(
        fresh_db: ScratchDatabase) -> None:
    settings = make_settings(fresh_db.url)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with app.state.sessionmaker() as session:
            admin = User(email="lifespan-admin@example.test", hashed_password="!unusable", role=Role.admin)
            session.add(admin)
            await session.commit()
        token = create_access_token(admin.id, secret=settings.secret_key.get_secret_value(),
                                    minutes=settings.access_token_minutes)
        headers = {"Authorization": f"Bearer {token}"}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            await ingest_ok(client, headers, [job(f"lz-{i:03d}", team=team_of(i)) for i in range(100)])
            # Changed again, so the jobs are updated rows, not freshly inserted ones.
            report = await ingest_ok(client, headers,
                                     [job(f"lz-{i:03d}", team=team_of(i), cost="65.00") for i in range(100)])
            assert report["updated"] == 100
            keys = await team_ids(app.state.sessionmaker)
            body = await list_ok(client, headers, {"limit": 100})
            assert len(body["jobs"]) == 100
            for item in body["jobs"]:
                spelling = team_of(int(item["job_id"].removeprefix("lz-")))
                assert item["team"] == {"id": keys[spelling.strip().casefold()], "name": display_name(spelling)}
                assert item["cost"] == "65.000000"
            response = await get_job(client, headers, "lz-007", {"include": "snapshots"})
            assert response.status_code == 200, response.text
            assert response.json()["team"] == {"id": keys["speech lab"], "name": "Speech Lab"}
            assert cost_days(response.json()["snapshots"]) == [
                {"day": "2026-01-14", "gpu_hours": "32.000000", "cost": "65.000000"}]
