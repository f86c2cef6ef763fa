"""The request's session (`SessionDep`): commits when the endpoint succeeds, before the response is sent, so a
commit that fails is an error response and never a success that was not stored; rolls back when the endpoint
raises. Run through the real lifespan on a database of the test's own, so commits are real."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import APIRouter
from sqlalchemy import func, select

from app.api.deps import SessionDep
from app.core.errors import ConflictError
from app.db.engine import create_sessionmaker
from app.db.models import Team
from app.main import create_app
from tests.api.problems import assert_problem
from tests.conftest import make_settings
from tests.databases import ScratchDatabase, engine_for

probe = APIRouter(prefix="/test-only")


@probe.post("/teams/{name}", status_code=201)
async def add_team(name: str, session: SessionDep) -> dict[str, str]:
    # No flush: the INSERT first reaches the database inside the dependency's commit.
    session.add(Team(id=uuid.uuid4(), name=name, name_key=name))
    return {"name": name}


@probe.post("/teams/{name}/then-fail")
async def add_team_then_fail(name: str, session: SessionDep) -> None:
    session.add(Team(id=uuid.uuid4(), name=name, name_key=name))
    await session.flush()
    raise ConflictError("refused after writing")


async def _team_count(url: str, name: str) -> int:
    async with engine_for(url) as engine, create_sessionmaker(engine)() as session:
        return await session.scalar(select(func.count()).select_from(Team).where(Team.name_key == name)) or 0


@pytest.fixture
async def live(fresh_db: ScratchDatabase):  # noqa: ANN201
    app = create_app(make_settings(fresh_db.url))
    app.include_router(probe)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client, fresh_db.url


async def test_a_successful_request_is_committed(live) -> None:
    client, url = live

    response = await client.post("/test-only/teams/alpha")

    assert response.status_code == 201
    assert await _team_count(url, "alpha") == 1


async def test_an_endpoint_that_raises_after_writing_is_rolled_back(live) -> None:
    client, url = live

    response = await client.post("/test-only/teams/beta/then-fail")

    assert_problem(response, 409, "conflict")
    assert await _team_count(url, "beta") == 0


async def test_a_commit_that_fails_is_an_error_response_not_a_success(live) -> None:
    client, url = live
    assert (await client.post("/test-only/teams/gamma")).status_code == 201

    # The duplicate name_key is only refused at commit, after the endpoint has returned its 201 body.
    response = await client.post("/test-only/teams/gamma")

    assert response.status_code >= 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert await _team_count(url, "gamma") == 1
