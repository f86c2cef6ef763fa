"""`jobcost demo`: migrate a development database and ensure the development admin; never in production."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from tests.cli.helpers import APP_TABLES, invoke, me, sign_in, stored_users, table_names, token_for
from tests.databases import ScratchDatabase

PRODUCTION_SECRET = "p" * 40


def test_demo_migrates_an_empty_database_and_creates_the_development_admin(empty_db: ScratchDatabase) -> None:
    assert table_names(empty_db.url) == set()

    result = invoke("demo", "--database-url", empty_db.url)

    assert result.exit_code == 0, result.output
    assert "development admin: admin@example.com / admin" in result.stdout
    assert "already present" not in result.stdout
    assert APP_TABLES <= table_names(empty_db.url)
    users = stored_users(empty_db.url)
    assert list(users) == ["admin@example.com"]
    assert (users["admin@example.com"].role, users["admin@example.com"].is_active) == ("admin", True)
    response = me(empty_db.url, token_for(empty_db.url, "admin@example.com", "admin"))
    assert response.json()["role"] == "admin"


def test_demo_leaves_an_existing_admin_alone(empty_db: ScratchDatabase) -> None:
    assert invoke("demo", "--database-url", empty_db.url).exit_code == 0
    before = stored_users(empty_db.url)

    # A different password on the second run must not reset the stored one.
    result = invoke("demo", "--database-url", empty_db.url, env={"JOBCOST_ADMIN_PASSWORD": "something-else"})

    assert result.exit_code == 0, result.output
    assert "already present" in result.stdout
    assert stored_users(empty_db.url) == before
    assert sign_in(empty_db.url, "admin@example.com", "admin").status_code == 200
    assert sign_in(empty_db.url, "admin@example.com", "something-else").status_code == 401


def test_demo_admin_credentials_come_from_the_environment(empty_db: ScratchDatabase) -> None:
    # Brackets too: rich once read them as markup and raised after the admin was committed.
    password = "b0ss-[/x]-[bold]"
    env = {"JOBCOST_ADMIN_EMAIL": "Boss@Example.com", "JOBCOST_ADMIN_PASSWORD": password}

    result = invoke("demo", "--database-url", empty_db.url, env=env)

    assert result.exit_code == 0, result.output
    assert f"Boss@Example.com / {password}" in result.stdout
    assert list(stored_users(empty_db.url)) == ["boss@example.com"]
    assert sign_in(empty_db.url, "boss@example.com", password).status_code == 200
    assert sign_in(empty_db.url, "admin@example.com", "admin").status_code == 401


def test_demo_is_refused_in_production_and_touches_nothing(empty_db: ScratchDatabase) -> None:
    env = {"JOBCOST_ENV": "production", "JOBCOST_SECRET_KEY": PRODUCTION_SECRET}

    result = invoke("demo", "--database-url", empty_db.url, env=env)

    assert result.exit_code == 2, result.output
    assert "refused" in result.stderr
    assert "production" in result.stderr
    if empty_db.path is not None:
        assert not empty_db.path.exists()
    assert table_names(empty_db.url) == set()


@pytest.mark.pg_only
def test_demo_does_not_print_the_database_password(empty_db: ScratchDatabase) -> None:
    # The local server trusts its clients, so a password in the URL is accepted and ignored.
    url = make_url(empty_db.url).set(password="db-password-not-for-logs").render_as_string(hide_password=False)

    result = invoke("demo", "--database-url", url)

    assert result.exit_code == 0, result.output
    assert "db-password-not-for-logs" not in result.output
    assert f"/{make_url(empty_db.url).database}" in result.stdout


def test_demo_warns_when_the_admin_email_belongs_to_a_member(empty_db: ScratchDatabase) -> None:
    assert invoke("db", "upgrade", "--database-url", empty_db.url).exit_code == 0
    assert invoke("users", "create", "--email", "admin@example.com", "--password", "member-password",
                  "--role", "member", "--database-url", empty_db.url).exit_code == 0

    result = invoke("demo", "--database-url", empty_db.url)

    # Printing "admin@example.com / admin" here would hand out credentials that do not work.
    assert result.exit_code == 0, result.output
    assert "development admin:" not in result.stdout
    assert "exists as a member" in result.output
    assert stored_users(empty_db.url)["admin@example.com"].role == "member"
