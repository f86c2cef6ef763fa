"""`jobcost db upgrade | downgrade | check` against real scratch databases."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import migrate
from tests.cli.helpers import APP_TABLES, execute_sql, invoke, table_names, with_connection
from tests.databases import ScratchDatabase


def _stamped_revision(url: str) -> str | None:
    async def work(connection: AsyncConnection) -> str | None:
        return (await connection.execute(sa.text("SELECT version_num FROM alembic_version"))).scalar_one_or_none()

    return with_connection(url, work)


def _head(url: str) -> str:
    head = ScriptDirectory.from_config(migrate.alembic_config(url)).get_current_head()
    assert head is not None
    return head


def test_upgrade_creates_the_schema_on_an_empty_database(empty_db: ScratchDatabase) -> None:
    assert table_names(empty_db.url) == set()

    result = invoke("db", "upgrade", "--database-url", empty_db.url)

    assert result.exit_code == 0, result.output
    assert "database at head" in result.stdout
    assert table_names(empty_db.url) == APP_TABLES | {"alembic_version"}
    assert _stamped_revision(empty_db.url) == _head(empty_db.url)


def test_upgrade_twice_is_a_no_op(fresh_db: ScratchDatabase) -> None:
    result = invoke("db", "upgrade", "--database-url", fresh_db.url)

    assert result.exit_code == 0, result.output
    assert _stamped_revision(fresh_db.url) == _head(fresh_db.url)


@pytest.mark.parametrize("variable", ["DATABASE_URL", "JOBCOST_DATABASE_URL"])
def test_upgrade_reads_the_database_url_from_the_environment(
    empty_db: ScratchDatabase, variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, empty_db.url)

    result = invoke("db", "upgrade")

    assert result.exit_code == 0, result.output
    assert APP_TABLES <= table_names(empty_db.url)


def test_database_url_option_overrides_the_environment(
    empty_db: ScratchDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "from-environment.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{elsewhere}")

    result = invoke("db", "upgrade", "--database-url", empty_db.url)

    assert result.exit_code == 0, result.output
    assert APP_TABLES <= table_names(empty_db.url)
    assert not elsewhere.exists()


def test_check_passes_on_a_migrated_database(fresh_db: ScratchDatabase) -> None:
    result = invoke("db", "check", "--database-url", fresh_db.url)

    assert result.exit_code == 0, result.output
    assert "no drift" in result.stdout


def test_check_reports_a_dropped_index_as_drift(fresh_db: ScratchDatabase) -> None:
    execute_sql(fresh_db.url, "DROP INDEX ix_jobs_model_name")

    result = invoke("db", "check", "--database-url", fresh_db.url)

    assert result.exit_code == 1, result.output
    assert "schema drift" in result.stderr
    assert "ix_jobs_model_name" in result.stderr
    assert "no drift" not in result.output


def test_downgrade_to_base_removes_the_tables_and_upgrade_restores_them(fresh_db: ScratchDatabase) -> None:
    result = invoke("db", "downgrade", "base", "--database-url", fresh_db.url)

    assert result.exit_code == 0, result.output
    assert "database at base" in result.stdout
    assert table_names(fresh_db.url) & APP_TABLES == set()
    assert _stamped_revision(fresh_db.url) is None

    # The downgrade must leave a database the history can be replayed on, not a half-dropped one.
    assert invoke("db", "upgrade", "--database-url", fresh_db.url).exit_code == 0
    assert APP_TABLES <= table_names(fresh_db.url)
    assert invoke("db", "check", "--database-url", fresh_db.url).exit_code == 0


def test_downgrade_has_no_default_revision(unused_sqlite_url: tuple[str, Path]) -> None:
    # A bare `jobcost db downgrade` must not silently mean "drop everything".
    url, path = unused_sqlite_url

    result = invoke("db", "downgrade", "--database-url", url)

    assert result.exit_code == 2
    assert "Missing argument" in result.output
    assert not path.exists()


def test_an_unknown_revision_is_a_message_not_a_traceback(fresh_db: ScratchDatabase) -> None:
    result = invoke("db", "upgrade", "no-such-revision", "--database-url", fresh_db.url)

    assert result.exit_code == 1
    assert "no-such-revision" in result.output
    assert "Traceback" not in result.output


def test_an_unmigrated_database_is_a_message_not_a_traceback(empty_db: ScratchDatabase) -> None:
    result = invoke("users", "list", "--database-url", empty_db.url)

    assert result.exit_code == 1
    assert "jobcost db upgrade" in result.output
    assert "Traceback" not in result.output


def test_an_unreachable_database_is_a_message_not_a_traceback() -> None:
    url = "postgresql+asyncpg://postgres:hunter2@127.0.0.1:1/nope"

    result = invoke("users", "list", "--database-url", url)

    assert result.exit_code == 1
    assert "database error" in result.output
    assert "hunter2" not in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", [("users", "list"), ("budgets", "list"), ("tokens", "list"), ("db", "check"),
                                     ("db", "upgrade")])
def test_a_database_url_that_is_not_a_url_is_a_message_not_a_traceback(command: tuple[str, ...]) -> None:
    # A file path where a URL belongs (`--database-url ./data/jobcost.db`), with a password-like part that must not
    # be echoed: SQLAlchemy cannot parse it, and the message used to re-parse it and crash with a traceback.
    result = invoke(*command, "--database-url", "./data/hunter2.db")

    assert result.exit_code == 1, result.output
    assert "not a database URL" in result.output
    assert "sqlite+aiosqlite:///" in result.output  # shows what one looks like
    assert "hunter2" not in result.output
    assert "Traceback" not in result.output
