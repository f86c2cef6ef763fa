"""Run the `jobcost` CLI and check its effects independently: raw database reads, and the real app's sign-in.

The CLI calls `asyncio.run` itself, so the tests are synchronous; their own async checks run in a thread of
their own (`in_thread`) with a fresh event loop each.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import httpx
import sqlalchemy as sa
from click.testing import Result
from sqlalchemy.ext.asyncio import AsyncConnection
from typer.testing import CliRunner

from app import cli
from app.db.models import Team, User, team_members
from app.main import create_app
from tests.conftest import make_settings
from tests.databases import APP_TABLES, engine_for, in_thread
from tests.factories import login

T = TypeVar("T")
__all__ = ["APP_TABLES"]  # re-exported for the CLI tests

# Wide, colourless output so that assertions see whole lines of plain text whatever the terminal says.
_runner = CliRunner(env={"COLUMNS": "200", "TTY_COMPATIBLE": "0", "NO_COLOR": "1"})



def invoke(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Result:
    """Run `jobcost ARGS`. An exception that escaped the command is re-raised: CliRunner would otherwise report
    it as exit code 1, indistinguishable from a deliberate `Exit(1)`."""
    result = _runner.invoke(cli.app, list(args), env=env, input=input)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        assert result.exc_info is not None
        raise result.exception.with_traceback(result.exc_info[2])
    return result


def run_async(fn: Callable[[], Awaitable[T]]) -> T:
    return in_thread(lambda: asyncio.run(fn()))  # type: ignore[arg-type]


def with_connection(url: str, work: Callable[[AsyncConnection], Awaitable[T]], *, commit: bool = False) -> T:
    async def run() -> T:
        async with engine_for(url) as engine, engine.connect() as connection:
            result = await work(connection)
            if commit:
                await connection.commit()
            return result

    return run_async(run)


def table_names(url: str) -> set[str]:
    async def work(connection: AsyncConnection) -> set[str]:
        return set(await connection.run_sync(lambda c: sa.inspect(c).get_table_names()))

    return with_connection(url, work)


def execute_sql(url: str, sql: str) -> None:
    async def work(connection: AsyncConnection) -> None:
        await connection.execute(sa.text(sql))

    with_connection(url, work, commit=True)


@dataclass(frozen=True)
class StoredUser:
    email: str
    role: str
    is_active: bool
    teams: tuple[str, ...]
    hashed_password: str


def stored_users(url: str) -> dict[str, StoredUser]:
    """Every user row by e-mail, with its team names sorted, read straight from the tables."""

    async def work(connection: AsyncConnection) -> dict[str, StoredUser]:
        users = (await connection.execute(
            sa.select(User.id, User.email, User.role, User.is_active, User.hashed_password))).all()
        memberships = (await connection.execute(
            sa.select(team_members.c.user_id, Team.name).join(Team, Team.id == team_members.c.team_id))).all()
        return {
            row.email: StoredUser(
                email=row.email, role=str(row.role), is_active=row.is_active, hashed_password=row.hashed_password,
                teams=tuple(sorted(name for user_id, name in memberships if user_id == row.id)),
            )
            for row in users
        }

    return with_connection(url, work)


def stored_team_names(url: str) -> list[str]:
    async def work(connection: AsyncConnection) -> list[str]:
        return sorted((await connection.execute(sa.select(Team.name))).scalars())

    return with_connection(url, work)


def with_api(url: str, work: Callable[[httpx.AsyncClient], Awaitable[T]]) -> T:
    """`work(client)` against the real app for `url`, its lifespan (engine and all) running."""

    async def run() -> T:
        application = create_app(make_settings(url))
        async with application.router.lifespan_context(application):
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                return await work(client)

    return run_async(run)


def sign_in(url: str, email: str, password: str) -> httpx.Response:
    return with_api(url, lambda client: login(client, email, password))


def token_for(url: str, email: str, password: str) -> str:
    response = sign_in(url, email, password)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def me(url: str, token: str) -> httpx.Response:
    return with_api(url, lambda client: client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}))


def line_with(output: str, needle: str) -> str:
    """The one output line containing `needle`."""
    lines = [line for line in output.splitlines() if needle in line]
    assert len(lines) == 1, f"{needle!r} on {len(lines)} lines of:\n{output}"
    return lines[0]


def team_names(payload: Sequence[dict[str, object]]) -> list[str]:
    return sorted(str(team["name"]) for team in payload)
