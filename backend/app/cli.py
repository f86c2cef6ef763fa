"""`jobcost` command line: serve the API, migrate the database, manage users and the rate card, set up the demo.

Every command reads the same settings as the service (`DATABASE_URL`, `JOBCOST_*`), or `--database-url`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError

from app.auth.cli import tokens_app
from app.auth.service import AuthService
from app.budgets.cli import budgets_app
from app.core.cli_options import DatabaseUrlOption
from app.core.config import Settings
from app.core.errors import AppError
from app.core.logs import configure_logging
from app.db import migrate
from app.db.engine import begin_write, create_engine, create_sessionmaker
from app.db.models import Role, User
from app.energy.cli import energy_app, recompute_with_progress, report_lines
from app.export.cli import export_app
from app.ingestion.cli import ingest as ingest_command
from app.ingestion.mock import load_mock_jobs
from app.ingestion.schemas import IngestReport
from app.ingestion.service import JobIngestionService
from app.metrics.registry import multiprocess_dir_for
from app.pricing.catalog import default_catalog
from app.pricing.cli import prices_app
from app.pricing.service import sync_catalog
from app.teams.service import missing_team_names

T = TypeVar("T")

app = typer.Typer(help="jobcost: what GPU and ML compute costs, and who spent it.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(prices_app, name="prices")
app.add_typer(budgets_app, name="budgets")
app.add_typer(export_app, name="export")
app.add_typer(energy_app, name="energy")
app.command("ingest")(ingest_command)

# What an unreachable, unmigrated or refusing database raises: reported in one line, never as a traceback.
DATABASE_ERRORS = (DBAPIError, InterfaceError, OSError, ArgumentError)  # DBAPIError covers Operational/Programming

console = Console()
err_console = Console(stderr=True)


def _settings(database_url: str | None) -> Settings:
    try:
        return Settings(database_url=database_url) if database_url else Settings()
    except ValidationError as exc:
        # Messages only: str(exc) repeats the input values, the refused JOBCOST_SECRET_KEY among them.
        reasons = "; ".join(".".join(map(str, e["loc"])) + ": " + e["msg"] if e["loc"] else e["msg"]
                            for e in exc.errors(include_input=False, include_url=False))
    except ValueError as exc:  # pydantic-settings' SettingsError: names the variable, not its value
        reasons = str(exc)
    err_console.print(f"[red]configuration refused:[/red] {escape(reasons)}")
    raise typer.Exit(2)


def _run_with_session(settings: Settings, work: Callable[[AuthService], Awaitable[T]], *, write: bool = False) -> T:
    """Run `work` in one committed transaction (a writer's, see `begin_write`, when `write`); AppErrors print
    their detail and exit 1."""

    async def runner() -> T:
        engine = create_engine(settings)
        try:
            async with create_sessionmaker(engine)() as session:
                if write:
                    await begin_write(session)
                result = await work(AuthService(session, settings))
                await session.commit()
                return result
        finally:
            await engine.dispose()

    try:
        return asyncio.run(runner())
    except AppError as exc:
        err_console.print(f"[red]error:[/red] {escape(exc.detail)}")
        raise typer.Exit(1) from None
    except DATABASE_ERRORS as exc:
        _database_problem(settings, exc)


def _database_problem(settings: Settings, exc: Exception) -> NoReturn:
    """Exit 1 with one readable line for a database that is unreachable or not migrated (no traceback)."""
    try:
        url = make_url(settings.database_url).render_as_string(hide_password=True)
    except ArgumentError:  # not a URL at all (a file path, say): not echoed, it may hold a password
        err_console.print("[red]database error:[/red] DATABASE_URL (or --database-url) is not a database URL; "
                          "e.g. sqlite+aiosqlite:///./data/jobcost.db or "
                          "postgresql+asyncpg://USER@HOST:5432/jobcost", soft_wrap=True)
        raise typer.Exit(1) from None
    reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
    err_console.print(f"[red]database error[/red] at {escape(url)}: {escape(reason)}\n"
                      "Is it reachable, and migrated (`jobcost db upgrade`)?")
    raise typer.Exit(1)


def _migration(settings: Settings, action: Callable[[], None]) -> None:
    """Run an Alembic action; a bad revision or an unreachable database exits 1 with a message."""
    from alembic.util.exc import CommandError

    try:
        action()
    except CommandError as exc:
        err_console.print(f"[red]migration error:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from None
    except DATABASE_ERRORS as exc:
        _database_problem(settings, exc)


# How long uvicorn's supervisor (with --workers > 1) waits for a worker to answer its health ping before killing and
# replacing it. uvicorn's default, 5 s, is shorter than a new worker's start on a busy host (Python and the app's
# imports): on a loaded 2-core machine every new worker was killed before it could answer, again and again.
WORKER_HEALTHCHECK_S = 30


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(
        min=1, envvar="JOBCOST_WORKERS",
        help="uvicorn worker processes (each with its own database pool: see docs/operating.md).")] = 1,
) -> None:
    """Serve the HTTP API with uvicorn (OpenAPI docs at /docs). Several workers share the port; each runs the
    start-up checks and the catalog sync, one after the other."""
    import uvicorn

    settings = _settings(None)
    configure_logging(settings.log_level, settings.log_format_in_use)
    # Our handler formats uvicorn's own lines too (log_config=None); its access log, which prints query strings,
    # is off: `jobcost.access` writes one line per request instead. With several workers, /metrics adds up the
    # figures of all of them (docs/metrics-and-logs.md). proxy_headers=False: the client's address is the
    # socket's peer unless JOBCOST_TRUSTED_PROXIES says which proxies' X-Forwarded-For to believe (sign-in
    # throttling keys on it; see docs/sign-in.md).
    with multiprocess_dir_for(workers):
        uvicorn.run("app.main:create_served_app", factory=True, host=host, port=port, workers=workers,
                    log_level=settings.log_level.lower(), timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
                    log_config=None, access_log=False, proxy_headers=False)


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
    database_url: DatabaseUrlOption = None,
) -> None:
    """Apply migrations up to REVISION (default: head); at head, compute the energy figures of the jobs stored
    before they existed (`jobcost energy recompute --missing`)."""
    settings = _settings(database_url)
    _migration(settings, lambda: migrate.upgrade(settings.database_url, revision))
    console.print(f"database at [bold]{escape(revision)}[/bold]")
    if revision == "head":
        _energy_backfill(settings)


def _energy_backfill(settings: Settings) -> None:
    """Compute the figures of jobs without them (none but after the upgrade that adds them: nothing is printed)."""
    try:
        report = asyncio.run(recompute_with_progress(settings, missing_only=True))
    except DATABASE_ERRORS as exc:
        _database_problem(settings, exc)
    if report.jobs_read:
        console.print("energy figures computed for jobs stored before them:", markup=False)
        for line in report_lines(report):
            console.print(line, markup=False, highlight=False, soft_wrap=True)


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision, e.g. base or -1.")],
    database_url: DatabaseUrlOption = None,
) -> None:
    """Revert migrations down to REVISION."""
    settings = _settings(database_url)
    _migration(settings, lambda: migrate.downgrade(settings.database_url, revision))
    console.print(f"database at [bold]{escape(revision)}[/bold]")


@db_app.command("check")
def db_check(database_url: DatabaseUrlOption = None) -> None:
    """Exit 1 if the models and the migrated schema differ (a migration is missing)."""
    from alembic.util.exc import CommandError

    settings = _settings(database_url)
    try:
        migrate.check(settings.database_url)
    except CommandError as exc:
        err_console.print(f"[red]schema drift:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from None
    except DATABASE_ERRORS as exc:
        _database_problem(settings, exc)
    console.print("no drift: models and migrations agree")


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="Sign-in e-mail.")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True,
                                          help="8 to 1024 characters; prompted for when omitted.")],
    role: Annotated[Role, typer.Option(help="admin ingests and manages; member reads its teams.")] = Role.member,
    team: Annotated[list[str] | None, typer.Option(help="Team the user belongs to; repeat for several.")] = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Create a user (teams are created when missing)."""
    settings = _settings(database_url)

    async def work(auth: AuthService) -> str:
        new_teams = await missing_team_names(auth.session, team or [])
        user = await auth.create_user(email, password, role, team or [])
        return f"created {user.role.value} {user.email}" + (
            f" in {', '.join(t.name for t in user.teams)}" if user.teams else "") + _new_teams_note(new_teams)

    console.print(_run_with_session(settings, work), markup=False)


def _new_teams_note(new_teams: list[str]) -> str:
    # Jobs name their team on ingest; a misspelt --team would give the user an empty team of its own, silently.
    if not new_teams:
        return ""
    return (f"\nnew team{'s' if len(new_teams) > 1 else ''}, with no jobs yet: {', '.join(new_teams)} "
            "(team names must match the jobs' `team`, in any case)")


@users_app.command("set-teams")
def users_set_teams(
    email: Annotated[str, typer.Option(help="The user's e-mail.")],
    team: Annotated[list[str] | None, typer.Option(
        help="A team the user belongs to from now on; repeat for several, leave out for none.")] = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Replace a user's teams (created when missing). A member reads exactly these teams' jobs and costs from its
    next request on; its tokens stay valid."""
    settings = _settings(database_url)

    async def work(auth: AuthService) -> str:
        new_teams = await missing_team_names(auth.session, team or [])
        user = await auth.set_teams(email, team or [])
        names = ", ".join(t.name for t in user.teams) or "no team"
        return f"{user.email} ({user.role.value}) now belongs to {names}" + _new_teams_note(new_teams)

    console.print(_run_with_session(settings, work, write=True), markup=False)


def _set_active(email: str, active: bool, database_url: str | None) -> None:
    settings = _settings(database_url)

    async def work(auth: AuthService) -> str:
        user = await auth.set_active(email, active)
        return f"{'activated' if active else 'deactivated'} {user.email}"

    console.print(_run_with_session(settings, work), markup=False)


@users_app.command("deactivate")
def users_deactivate(
    email: Annotated[str, typer.Option(help="The user's e-mail.")],
    database_url: DatabaseUrlOption = None,
) -> None:
    """Stop a user from signing in; tokens already issued stop working at once."""
    _set_active(email, False, database_url)


@users_app.command("activate")
def users_activate(
    email: Annotated[str, typer.Option(help="The user's e-mail.")],
    database_url: DatabaseUrlOption = None,
) -> None:
    """Let a deactivated user sign in again."""
    _set_active(email, True, database_url)


@users_app.command("list")
def users_list(database_url: DatabaseUrlOption = None) -> None:
    """Show every user with role, state and teams."""
    settings = _settings(database_url)

    async def work(auth: AuthService) -> Table:
        table = Table("email", "role", "active", "teams")
        for user in await auth.list_users():
            # Cells are rendered as markup; team names arrive from ingest and may contain "[".
            table.add_row(escape(user.email), user.role.value, "yes" if user.is_active else "no",
                          escape(", ".join(t.name for t in user.teams)))
        return table

    console.print(_run_with_session(settings, work))


@app.command()
def demo(database_url: DatabaseUrlOption = None) -> None:
    """Prepare a development database: migrate it, load the GPU price catalog and the 30 mock jobs (1–14 January
    2026; loading them again changes nothing), and ensure the development admin (JOBCOST_ADMIN_EMAIL /
    JOBCOST_ADMIN_PASSWORD, default admin@example.com / admin). Refused in production."""
    settings = _settings(database_url)
    if settings.is_production:
        err_console.print("[red]refused:[/red] `jobcost demo` creates a development admin; JOBCOST_ENV=production")
        raise typer.Exit(2)
    _migration(settings, lambda: migrate.upgrade(settings.database_url))
    _energy_backfill(settings)

    async def load_demo_data(auth: AuthService) -> IngestReport:
        await sync_catalog(auth.session, default_catalog())
        return await JobIngestionService(auth.session).ingest(load_mock_jobs())

    report = _run_with_session(settings, load_demo_data, write=True)
    console.print(f"mock jobs: {report.received} received, {report.created} created, {report.updated} updated, "
                  f"{report.unchanged} unchanged, {report.failed} refused")
    email, password = settings.admin_email, settings.admin_password.get_secret_value()

    async def work(auth: AuthService) -> tuple[User, bool]:
        return await auth.ensure_admin(email, password)

    user, created = _run_with_session(settings, work)
    console.print(f"database: {make_url(settings.database_url).render_as_string(hide_password=True)}", markup=False)
    if user.role is not Role.admin or not user.is_active:
        # An account with that e-mail exists but cannot act as the admin: say so instead of printing credentials.
        state = "deactivated " if not user.is_active else ""
        err_console.print(f"[yellow]warning:[/yellow] {escape(user.email)} exists as a {state}{user.role.value}, "
                          "not an active admin; left unchanged. Set JOBCOST_ADMIN_EMAIL to another address.")
        return
    console.print(f"development admin: [bold]{escape(email)}[/bold] / [bold]{escape(password)}[/bold]"
                  + ("" if created else " (already present; password unchanged)"))
