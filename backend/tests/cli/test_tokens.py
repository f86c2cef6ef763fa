"""`jobcost tokens create | list | revoke` against real scratch databases; every token is then tried on the real
app, whose key is the tests' `TEST_SECRET`: the CLI gets the same key through `JOBCOST_SECRET_KEY`, as it must in
production."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.models import ApiToken
from tests.cli.helpers import invoke, line_with, with_api, with_connection
from tests.conftest import TEST_SECRET
from tests.databases import ScratchDatabase
from tests.ingestion.conftest import INGEST, job

SERVICE_KEY = {"JOBCOST_SECRET_KEY": TEST_SECRET}


def stored_tokens(url: str) -> list[Any]:
    async def work(connection: AsyncConnection) -> list[Any]:
        return list((await connection.execute(sa.select(ApiToken.__table__))).all())

    return with_connection(url, work)


def create(url: str, *extra: str, days: str = "90", env: dict[str, str] | None = None) -> Any:
    return invoke("tokens", "create", "--scope", "ingest", "--expires-days", days, *extra, "--database-url", url,
                  env=SERVICE_KEY if env is None else env)


def api_call(url: str, token: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    return with_api(url, lambda client: client.request(method, path, headers=headers, **kwargs))


def test_create_prints_the_token_once_and_it_ingests(fresh_db: ScratchDatabase) -> None:
    result = create(fresh_db.url, "--name", "slurm-a head node")

    assert result.exit_code == 0, result.output
    (row,) = stored_tokens(fresh_db.url)
    # Standard output is the token alone, so `> file` keeps just it; the rest is on standard error.
    token = result.stdout.strip()
    assert "\n" not in token and token.count(".") == 2
    assert token not in result.stderr
    assert line_with(result.stderr, "id:").split() == ["id:", str(row.id)]
    assert line_with(result.stderr, "scope:").split() == ["scope:", "ingest"]
    assert line_with(result.stderr, "expires:").split() == ["expires:", row.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ")]
    assert "cannot be shown again" in result.stderr
    assert "development secret key" not in result.stderr
    assert (row.name, row.scope, row.revoked_at) == ("slurm-a head node", "ingest", None)
    assert row.expires_at - row.created_at == timedelta(days=90)
    assert token not in str(row)  # nothing of the token is stored

    ingested = api_call(fresh_db.url, token, "POST", INGEST, json={"jobs": [job("cron-001")]})
    assert ingested.status_code == 200, ingested.text
    assert ingested.json()["created"] == 1
    read = api_call(fresh_db.url, token, "GET", "/api/v1/jobs")
    assert read.status_code == 403
    assert "may only ingest" in read.json()["detail"]


def test_a_token_signed_with_the_development_key_is_flagged(fresh_db: ScratchDatabase) -> None:
    result = create(fresh_db.url, env={})

    assert result.exit_code == 0, result.output
    assert "signed with the development secret key" in result.stderr
    # This service runs with another key (as a production service would): the token is refused.
    response = api_call(fresh_db.url, result.stdout.strip(), "POST", INGEST, json={"jobs": [job("cron-001")]})
    assert response.status_code == 401


@pytest.mark.parametrize("scope", ["admin", "INGEST ", "Read", ""])
def test_an_unknown_scope_is_refused(fresh_db: ScratchDatabase, scope: str) -> None:
    result = invoke("tokens", "create", "--scope", scope, "--expires-days", "30", "--database-url", fresh_db.url,
                    env=SERVICE_KEY)

    assert result.exit_code == 2, result.output
    assert "Invalid value for '--scope'" in result.output
    assert "ingest" in result.output and "read" in result.output
    assert stored_tokens(fresh_db.url) == []


@pytest.mark.parametrize("days", ["0", "-5", "3651", "1.5", "ten"])
def test_expires_days_out_of_bounds_is_refused(fresh_db: ScratchDatabase, days: str) -> None:
    result = create(fresh_db.url, days=days)

    assert result.exit_code == 2, result.output
    assert "--expires-days" in result.output
    assert stored_tokens(fresh_db.url) == []


@pytest.mark.parametrize("days", [1, 3650])
def test_expires_days_bounds_are_accepted(fresh_db: ScratchDatabase, days: int) -> None:
    assert create(fresh_db.url, days=str(days)).exit_code == 0
    (row,) = stored_tokens(fresh_db.url)
    assert row.expires_at - row.created_at == timedelta(days=days)


def test_scope_and_expiry_are_required(fresh_db: ScratchDatabase) -> None:
    no_days = invoke("tokens", "create", "--scope", "ingest", "--database-url", fresh_db.url, env=SERVICE_KEY)
    no_scope = invoke("tokens", "create", "--expires-days", "30", "--database-url", fresh_db.url, env=SERVICE_KEY)

    assert (no_days.exit_code, no_scope.exit_code) == (2, 2)
    assert "--expires-days" in no_days.output and "--scope" in no_scope.output
    assert stored_tokens(fresh_db.url) == []


def test_a_bad_name_is_a_message(fresh_db: ScratchDatabase) -> None:
    result = create(fresh_db.url, "--name", "x" * 256)

    assert result.exit_code == 1
    assert "name: at most 255 characters" in result.stderr
    assert stored_tokens(fresh_db.url) == []


def cells(line: str) -> list[str]:
    """The cells of one row of a rich table, whatever its border characters."""
    return [cell.strip() for cell in line.replace("┃", "│").strip("│ ").split("│")]


def test_list_shows_every_token_and_its_state(fresh_db: ScratchDatabase) -> None:
    assert "no API tokens" in invoke("tokens", "list", "--database-url", fresh_db.url).stdout
    kept = create(fresh_db.url, "--name", "[bold]kept[/bold]").stdout.strip()
    assert create(fresh_db.url, "--name", "old").exit_code == 0
    old_id = next(row.id for row in stored_tokens(fresh_db.url) if row.name == "old")
    assert invoke("tokens", "revoke", str(old_id), "--database-url", fresh_db.url).exit_code == 0
    assert api_call(fresh_db.url, kept, "POST", INGEST, json={"jobs": [job("cron-001")]}).status_code == 200

    result = invoke("tokens", "list", "--database-url", fresh_db.url)

    assert result.exit_code == 0, result.output
    assert cells(line_with(result.stdout, "last used")) == [
        "id", "name", "scope", "teams", "created", "expires", "revoked", "last used", "state"]
    rows = {row.name: row for row in stored_tokens(fresh_db.url)}
    kept_row, old_row = rows["[bold]kept[/bold]"], rows["old"]
    stamp = "%Y-%m-%d %H:%M"  # UTC, to the minute
    # The name is shown as written, not read as markup.
    assert cells(line_with(result.stdout, str(kept_row.id))) == [
        str(kept_row.id), "[bold]kept[/bold]", "ingest", "-", kept_row.created_at.strftime(stamp),
        kept_row.expires_at.strftime(stamp), "-", kept_row.last_used_at.strftime(stamp), "active"]
    assert cells(line_with(result.stdout, str(old_row.id))) == [
        str(old_row.id), "old", "ingest", "-", old_row.created_at.strftime(stamp), old_row.expires_at.strftime(stamp),
        old_row.revoked_at.strftime(stamp), "-", "revoked"]
    assert kept not in result.output


def create_read(url: str, *extra: str) -> Any:
    return invoke("tokens", "create", "--scope", "read", "--expires-days", "365", *extra, "--database-url", url,
                  env=SERVICE_KEY)


def test_a_read_token_reads_its_teams_only_and_is_listed_with_them(fresh_db: ScratchDatabase) -> None:
    ingest = create(fresh_db.url).stdout.strip()
    jobs = [job("nlp-001", team="NLP"), job("vision-001", team="vision"), job("audio-001", team="audio")]
    assert api_call(fresh_db.url, ingest, "POST", INGEST, json={"jobs": jobs}).status_code == 200

    limited = create_read(fresh_db.url, "--team", "nlp", "--team", " Vision ", "--name", "grafana")
    every = create_read(fresh_db.url, "--name", "bi")

    assert (limited.exit_code, every.exit_code) == (0, 0), limited.output + every.output
    assert line_with(limited.stderr, "scope:").split() == ["scope:", "read"]
    assert line_with(limited.stderr, "teams:").split() == ["teams:", "NLP,", "vision"]
    assert line_with(every.stderr, "teams:").split() == ["teams:", "all"]
    listed = api_call(fresh_db.url, limited.stdout.strip(), "GET", "/api/v1/jobs")
    assert listed.status_code == 200, listed.text
    assert sorted(j["job_id"] for j in listed.json()["jobs"]) == ["nlp-001", "vision-001"]
    listed = api_call(fresh_db.url, every.stdout.strip(), "GET", "/api/v1/jobs")
    assert sorted(j["job_id"] for j in listed.json()["jobs"]) == ["audio-001", "nlp-001", "vision-001"]
    refused = api_call(fresh_db.url, every.stdout.strip(), "POST", INGEST, json={"jobs": [job("x-001")]})
    assert refused.status_code == 403
    assert "may only read" in refused.json()["detail"]

    table = invoke("tokens", "list", "--database-url", fresh_db.url).stdout
    rows = {row.name: row for row in stored_tokens(fresh_db.url)}
    assert cells(line_with(table, str(rows["grafana"].id)))[2:4] == ["read", "NLP, vision"]
    assert cells(line_with(table, str(rows["bi"].id)))[2:4] == ["read", "all"]


def test_an_unknown_team_is_refused_by_name(fresh_db: ScratchDatabase) -> None:
    ingest = create(fresh_db.url).stdout.strip()
    assert api_call(fresh_db.url, ingest, "POST", INGEST, json={"jobs": [job("nlp-001", team="nlp")]}
                    ).status_code == 200

    result = create_read(fresh_db.url, "--team", "nlp", "--team", "nlpp")

    assert result.exit_code == 1
    assert "no team named 'nlpp'" in result.stderr
    assert result.stdout == "" and "Traceback" not in result.output
    assert [row.scope for row in stored_tokens(fresh_db.url)] == ["ingest"]
    ingest_with_team = create(fresh_db.url, "--team", "nlp")
    assert ingest_with_team.exit_code == 1
    assert "only a read token" in ingest_with_team.stderr


def test_revoke_refuses_the_token_from_the_next_request(fresh_db: ScratchDatabase) -> None:
    token = create(fresh_db.url, "--name", "cron").stdout.strip()
    (row,) = stored_tokens(fresh_db.url)

    result = invoke("tokens", "revoke", str(row.id), "--database-url", fresh_db.url)

    assert result.exit_code == 0, result.output
    (row,) = stored_tokens(fresh_db.url)
    assert result.stdout.strip() == f"revoked token {row.id} (cron) at {row.revoked_at:%Y-%m-%dT%H:%M:%SZ}"
    response = api_call(fresh_db.url, token, "POST", INGEST, json={"jobs": [job("cron-001")]})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    again = invoke("tokens", "revoke", str(row.id), "--database-url", fresh_db.url)
    assert again.exit_code == 0
    assert "was already revoked at" in again.stdout
    assert stored_tokens(fresh_db.url) == [row]


def test_revoke_an_unknown_or_malformed_id_is_a_message(fresh_db: ScratchDatabase) -> None:
    unknown = uuid.uuid4()
    missing = invoke("tokens", "revoke", str(unknown), "--database-url", fresh_db.url)
    malformed = invoke("tokens", "revoke", "cron", "--database-url", fresh_db.url)

    assert (missing.exit_code, malformed.exit_code) == (1, 1)
    assert f"no API token with id {unknown}" in missing.stderr
    assert "not a token id" in malformed.stderr
    assert "Traceback" not in missing.output + malformed.output


@pytest.mark.parametrize("command", [("list",), ("revoke", "3f0c2a52-8d36-4a8e-9d1e-1f4f6b1c2d3e"),
                                     ("create", "--scope", "ingest", "--expires-days", "30")])
def test_an_unmigrated_database_is_one_line(empty_db: ScratchDatabase, command: tuple[str, ...]) -> None:
    result = invoke("tokens", *command, "--database-url", empty_db.url, env=SERVICE_KEY)

    assert result.exit_code == 1
    assert "jobcost db upgrade" in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""
