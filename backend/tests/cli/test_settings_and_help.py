"""Settings refusals shared by every command, `serve`, and the help text. No database is needed (or touched)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.cli.helpers import invoke

EVERY_COMMAND = [
    ["serve"],
    ["db", "upgrade"],
    ["db", "downgrade", "base"],
    ["db", "check"],
    ["users", "create", "--email", "x@example.com", "--password", "long enough"],
    ["users", "deactivate", "--email", "x@example.com"],
    ["users", "activate", "--email", "x@example.com"],
    ["users", "list"],
    ["demo"],
    ["prices", "list"],
    ["prices", "add", "--provider", "onprem", "--gpu-type", "V100", "--usd-per-gpu-hour", "1",
     "--valid-from", "2019-01-01T00:00:00Z"],
    ["prices", "retire", "00000000-0000-0000-0000-000000000000"],
    ["prices", "import", "card.csv"],
    ["prices", "export"],
    ["prices", "recost"],
]


@pytest.fixture(autouse=True)
def _no_server(monkeypatch: pytest.MonkeyPatch) -> None:
    # A regression must fail the test, not bind a port and hang it.
    import uvicorn

    def refuse(*args: Any, **kwargs: Any) -> None:
        pytest.fail("uvicorn.run was called")

    monkeypatch.setattr(uvicorn, "run", refuse)
    monkeypatch.setattr("logging.basicConfig", lambda **kwargs: None)


@pytest.mark.parametrize("command", EVERY_COMMAND, ids=" ".join)
def test_production_with_the_development_secret_key_is_refused(
    command: list[str], unused_sqlite_url: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, path = unused_sqlite_url
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("JOBCOST_ENV", "production")

    result = invoke(*command)

    assert result.exit_code == 2, result.output
    assert "JOBCOST_SECRET_KEY" in result.stderr
    assert not path.exists()


def test_an_explicit_development_secret_key_is_refused_too(
    unused_sqlite_url: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.core.config import DEV_SECRET_KEY

    url, path = unused_sqlite_url
    monkeypatch.setenv("JOBCOST_ENV", "production")
    monkeypatch.setenv("JOBCOST_SECRET_KEY", DEV_SECRET_KEY)

    result = invoke("users", "list", "--database-url", url)

    assert result.exit_code == 2, result.output
    assert "JOBCOST_SECRET_KEY is the development key" in result.stderr
    assert not path.exists()


@pytest.mark.parametrize("secret", ["Short[Secret", "tiny-secret", "x]y[z"])
def test_a_refused_secret_key_is_not_echoed(secret: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # pydantic's error text repeats the input values (the secret last when no URL is given, so shown in full);
    # the CLI must print the reason, never the secret. The default database is relative: keep it in tmp_path.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JOBCOST_ENV", "production")
    monkeypatch.setenv("JOBCOST_SECRET_KEY", secret)

    result = invoke("db", "check")

    assert result.exit_code == 2, result.output
    assert "JOBCOST_SECRET_KEY must be at least 32 characters" in result.stderr
    assert secret not in result.output
    assert list(tmp_path.iterdir()) == []


def test_an_invalid_setting_names_the_setting(unused_sqlite_url: tuple[str, Path],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    url, path = unused_sqlite_url
    monkeypatch.setenv("JOBCOST_ACCESS_TOKEN_MINUTES", "0")

    result = invoke("users", "list", "--database-url", url)

    assert result.exit_code == 2, result.output
    assert "access_token_minutes" in result.stderr
    assert not path.exists()


def test_serve_passes_host_and_port_to_uvicorn(unused_sqlite_url: tuple[str, Path],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append((args, kwargs)))
    monkeypatch.setenv("DATABASE_URL", unused_sqlite_url[0])

    result = invoke("serve", "--host", "0.0.0.0", "--port", "9123")  # noqa: S104 - never bound: uvicorn is faked

    assert result.exit_code == 0, result.output
    [(args, kwargs)] = calls
    assert args == ("app.main:create_served_app",)  # create_app, with logging set up in each worker first
    assert kwargs["factory"] is True
    # Our log handler formats uvicorn's lines; uvicorn's own access log, which prints query strings, is off.
    assert (kwargs["log_config"], kwargs["access_log"]) == (None, False)
    assert (kwargs["host"], kwargs["port"], kwargs["workers"]) == ("0.0.0.0", 9123, 1)  # noqa: S104


@pytest.mark.parametrize(("env", "args", "workers"), [({"JOBCOST_WORKERS": "3"}, (), 3),
                                                      ({"JOBCOST_WORKERS": "3"}, ("--workers", "2"), 2),
                                                      ({}, ("--workers", "4"), 4)])
def test_serve_takes_its_workers_from_the_option_or_jobcost_workers(
        env: dict[str, str], args: tuple[str, ...], workers: int, unused_sqlite_url: tuple[str, Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *_args, **kwargs: calls.append(kwargs))
    monkeypatch.setenv("DATABASE_URL", unused_sqlite_url[0])

    result = invoke("serve", *args, env=env)

    assert result.exit_code == 0, result.output
    assert [call["workers"] for call in calls] == [workers]
    # Not uvicorn's 5 s: a worker starting on a busy host would be killed before it answers, again and again.
    assert calls[0]["timeout_worker_healthcheck"] == 30


def test_serve_refuses_zero_workers(unused_sqlite_url: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *_args, **_kwargs: pytest.fail("uvicorn started"))
    monkeypatch.setenv("DATABASE_URL", unused_sqlite_url[0])

    result = invoke("serve", env={"JOBCOST_WORKERS": "0"})

    assert result.exit_code == 2
    assert "--workers" in result.stderr


def test_serve_help_documents_host_and_port() -> None:
    result = invoke("serve", "--help")

    assert result.exit_code == 0, result.output
    host, port = (next(line for line in result.stdout.splitlines() if option in line)
                  for option in ("--host", "--port"))
    assert "127.0.0.1" in host
    assert "8000" in port


def test_top_level_help_lists_the_commands() -> None:
    result = invoke("--help")

    assert result.exit_code == 0, result.output
    commands = {line.strip("│ ").split()[0] for line in result.stdout.splitlines()
                if line.startswith("│ ") and line.strip("│ ")}
    assert {"serve", "db", "users", "demo", "prices"} <= commands


@pytest.mark.parametrize(("group", "commands"), [
    ("db", {"upgrade", "downgrade", "check"}),
    ("users", {"create", "deactivate", "activate", "list"}),
    ("prices", {"list", "add", "retire", "import", "export", "recost"}),
])
def test_group_help_lists_its_commands(group: str, commands: set[str]) -> None:
    result = invoke(group, "--help")

    assert result.exit_code == 0, result.output
    listed = {line.strip("│ ").split()[0] for line in result.stdout.splitlines()
              if line.startswith("│ ") and line.strip("│ ")}
    assert commands <= listed
