"""`jobcost tokens create | list | revoke`: long-lived API tokens for scripts and tools (scope `ingest` or `read`).

The helpers of `app.cli` (settings, one committed session, one-line database errors) are imported when a command
runs, not at import time: `app.cli` imports this module to register the sub-app.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from app.auth.api_tokens import MAX_EXPIRES_DAYS, MIN_EXPIRES_DAYS, ApiTokenService, IssuedToken, token_state
from app.auth.service import AuthService
from app.core.cli_options import DatabaseUrlOption
from app.core.config import DEV_SECRET_KEY
from app.db.models import ApiToken, TokenScope

tokens_app = typer.Typer(
    help="Long-lived API tokens for scripts (a cron job that ingests) and tools (a BI tool or Grafana that reads). "
         "Signed with JOBCOST_SECRET_KEY: run these commands with the service's settings.",
    no_args_is_help=True,
)


def _when(instant: datetime | None) -> str:
    return "-" if instant is None else instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _minute(instant: datetime | None) -> str:
    # To the minute, with a space where a narrow terminal may break the cell: the list is for reading.
    return "-" if instant is None else instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def _teams(token: ApiToken) -> str:
    """What a token may read: `all` (a read token for every team), its teams' names, `none` (limited to teams
    that are all gone), or `-` for an ingest token (it reads nothing)."""
    if token.scope is not TokenScope.read:
        return "-"
    if not token.limited_to_teams:
        return "all"
    return ", ".join(t.name for t in token.teams) or "none"


@tokens_app.command("create")
def tokens_create(
    scope: Annotated[TokenScope, typer.Option(help="What the token may do. ingest: send jobs to "
                                                   "POST /api/v1/admin/ingest/jobs (and .../mock), nothing else. "
                                                   "read: GET jobs, analytics and prices, nothing else.")],
    expires_days: Annotated[int, typer.Option(
        min=MIN_EXPIRES_DAYS, max=MAX_EXPIRES_DAYS,
        help=f"Days until the token expires ({MIN_EXPIRES_DAYS} to {MAX_EXPIRES_DAYS}).")],
    name: Annotated[str | None, typer.Option(help="A label for `tokens list`, e.g. the host and job it is for.",
                                             show_default=False)] = None,
    team: Annotated[list[str] | None, typer.Option(
        "--team", help="Read tokens only: limit the token to this team (repeat for several), as a member of "
                       "those teams would read. Default: every team.", show_default=False)] = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Create an API token and print it, once.

    The token goes alone to standard output (so `> file` keeps just the token); its id, scope and expiry go to
    standard error. It cannot be shown again: the database keeps its id, not the token."""
    from app.cli import _run_with_session, _settings, console, err_console

    settings = _settings(database_url)

    async def work(auth: AuthService) -> IssuedToken:
        return await ApiTokenService(auth.session, settings).create(scope, expires_days, name, teams=team or ())

    issued = _run_with_session(settings, work, write=True)
    record = issued.record
    label = f' "{escape(record.name)}"' if record.name else ""
    teams = f"  teams:   {escape(_teams(record))}\n" if record.scope is TokenScope.read else ""
    err_console.print(f"created {record.scope.value} token{label}\n  id:      {record.id}\n"
                      f"  scope:   {record.scope.value}\n{teams}  expires: {_when(record.expires_at)}\n"
                      "This is the only time the token is shown: it cannot be shown again. Store it now "
                      "(e.g. as JOBCOST_TOKEN for the cron job); revoke it with `jobcost tokens revoke ID`.",
                      highlight=False)
    if settings.secret_key.get_secret_value() == DEV_SECRET_KEY:
        err_console.print("[yellow]warning:[/yellow] signed with the development secret key: only a service "
                          "running with that key accepts it (set JOBCOST_SECRET_KEY as the service does)")
    console.print(issued.token, markup=False, highlight=False, soft_wrap=True)


@tokens_app.command("list")
def tokens_list(database_url: DatabaseUrlOption = None) -> None:
    """Show every API token (never the token itself).

    Oldest first: id, name, scope, teams (a read token's: all, or the ones it is limited to), when created, when
    it expires, when revoked, when it last got a request accepted (times in UTC), and its state: active, expired
    or revoked."""
    from app.cli import _run_with_session, _settings, console

    settings = _settings(database_url)

    async def work(auth: AuthService) -> list[ApiToken]:
        return list(await ApiTokenService(auth.session, settings).list_tokens())

    tokens = _run_with_session(settings, work)
    now = datetime.now(UTC)
    table = Table("id", "name", "scope", "teams", "created", "expires", "revoked", "last used", "state",
                  caption="times in UTC")
    # Every cell on one line, the id whole (for `tokens revoke`): the table is printed at its natural width even
    # in a narrow terminal or a pipe (80 columns by default), where folded cells were unreadable.
    for column in table.columns:
        column.no_wrap = True
    for token in tokens:
        # Cells are rendered as markup; a name may contain "[".
        table.add_row(str(token.id), escape(token.name or "-"), token.scope.value, escape(_teams(token)),
                      _minute(token.created_at),
                      _minute(token.expires_at), _minute(token.revoked_at), _minute(token.last_used_at),
                      token_state(token, now))
    if not tokens:
        console.print("no API tokens")
        return
    # About 150 columns (more with many teams): a console at least that wide, whatever the terminal's (or a pipe's
    # 80).
    Console(width=max(console.width, 170)).print(table)


@tokens_app.command("revoke")
def tokens_revoke(
    token_id: Annotated[str, typer.Argument(metavar="ID", help="The token's id, as `jobcost tokens list` shows.")],
    database_url: DatabaseUrlOption = None,
) -> None:
    """Revoke a token: refused (401) from the next request on.

    Cannot be undone; create a new token instead."""
    from app.cli import _run_with_session, _settings, console

    settings = _settings(database_url)

    async def work(auth: AuthService) -> tuple[ApiToken, bool]:
        return await ApiTokenService(auth.session, settings).revoke(token_id)

    token, newly = _run_with_session(settings, work, write=True)
    what = f"token {token.id} ({token.name or 'no name'})"
    console.print(f"revoked {what} at {_when(token.revoked_at)}" if newly
                  else f"{what} was already revoked at {_when(token.revoked_at)}", markup=False, highlight=False)
