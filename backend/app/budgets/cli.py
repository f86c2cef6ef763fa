"""`jobcost budgets create | list | update | delete`: budgets from the command line, acting on the database
directly (`DATABASE_URL` or `--database-url`) with the admin API's rules (`/api/v1/admin/budgets`, through
`BudgetService`). Exit codes: 0 done; 1 an unknown budget or a database error; 2 a bad option value (named).

The helpers of `app.cli` are imported when a command runs: `app.cli` imports this module to register the sub-app.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, NoReturn

import typer
from pydantic import BaseModel, ValidationError
from rich.markup import escape

from app.budgets.schemas import DEFAULT_THRESHOLDS, BudgetIn, BudgetPatch
from app.budgets.service import BudgetService, BudgetView
from app.budgets.spend import usd
from app.core.cli_options import DatabaseUrlOption
from app.core.errors import AppError
from app.core.money import six_places
from app.teams.scope import TeamScope

budgets_app = typer.Typer(help="Budgets: USD per team (or for every team) per calendar month or quarter, with "
                               "alert thresholds. See docs/budgets-and-alerts.md.", no_args_is_help=True)

ActorOption = Annotated[str, typer.Option("--as", help="Recorded as who created the budget.")]
ThresholdOption = Annotated[list[int] | None, typer.Option(
    "--threshold", help="A threshold in percent of the amount (1..1000); repeat for several. Default: 50, 80, 100.",
    show_default=False)]
NameOption = Annotated[str | None, typer.Option(help="A name for people.", show_default=False)]


def _usage(message: str) -> NoReturn:
    from app.cli import err_console

    err_console.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    raise typer.Exit(2)


def _validated(model: type[BaseModel], values: dict[str, Any]) -> Any:
    try:
        return model.model_validate({k: v for k, v in values.items() if v is not None})
    except ValidationError as exc:
        error = exc.errors(include_url=False, include_input=False)[0]
        field = str(error["loc"][0]) if error["loc"] else "value"
        option = {"thresholds": "threshold", "team_id": "team"}.get(field, field)
        _usage(f"--{option.replace('_', '-')}: {error['msg']}")


def _text(view: BudgetView) -> str:
    b = view.budget
    whom = f"team {view.team_name}" if view.team_name is not None else "every team"
    name = f" ({b.name})" if b.name else ""
    return (f"{b.id}: {six_places(usd(b.amount_micros))} USD per {b.period.value} for {whom}{name}; thresholds "
            f"{', '.join(f'{p}%' for p in b.thresholds)}")


def _run(database_url: str | None, work: Any, *, write: bool) -> Any:
    from app.cli import _run_with_session, _settings

    settings = _settings(database_url)
    try:
        return _run_with_session(settings, lambda auth: work(BudgetService(auth.session)), write=write)
    except AppError as exc:  # a 422 of the service: a bad option value
        _usage(exc.detail)


def _service_error(exc: AppError) -> NoReturn:
    errors = exc.extra.get("errors") or []
    if exc.status == 422 and errors:
        field = str(errors[0]["loc"][-1])
        _usage(f"--{'team' if field == 'team_id' else field.replace('_', '-')}: {errors[0]['msg']}")
    from app.cli import err_console

    err_console.print(f"[red]error:[/red] {escape(exc.detail)}")
    raise typer.Exit(1)


class _Refused(Exception):
    def __init__(self, error: AppError) -> None:
        super().__init__(error.detail)
        self.error = error


def _change(database_url: str | None, work: Any) -> Any:
    async def guarded(service: BudgetService) -> Any:
        try:
            return await work(service)
        except AppError as exc:
            raise _Refused(exc) from None

    from app.cli import _run_with_session, _settings

    settings = _settings(database_url)
    try:
        return _run_with_session(settings, lambda auth: guarded(BudgetService(auth.session)), write=True)
    except _Refused as exc:
        _service_error(exc.error)


@budgets_app.command("create")
def budgets_create(
    amount: Annotated[str, typer.Option(help="USD per period: more than 0, at most 6 decimal places.")],
    team: Annotated[str | None, typer.Option(help="The team (by name); omit with --all.", show_default=False)] = None,
    all_teams: Annotated[bool, typer.Option("--all", help="A budget of every team together.")] = False,
    period: Annotated[str, typer.Option(help="month or quarter (calendar, UTC).")] = "month",
    threshold: ThresholdOption = None,
    name: NameOption = None,
    as_: ActorOption = "cli",
    database_url: DatabaseUrlOption = None,
) -> None:
    """Create a budget and print it (its id first)."""
    body = _validated(BudgetIn, {"scope": "all" if all_teams else "team", "team": team, "period": period,
                                 "amount": amount, "thresholds": list(threshold or DEFAULT_THRESHOLDS),
                                 "name": name})
    view = _change(database_url, lambda service: service.create(body, as_))
    typer.echo(f"created budget {_text(view)}")


@budgets_app.command("list")
def budgets_list(database_url: DatabaseUrlOption = None) -> None:
    """Every budget, one a line: id, amount, period, team, thresholds."""
    views = _run(database_url, lambda service: service.list(TeamScope.everything()), write=False)
    for view in views:
        typer.echo(_text(view))
    if not views:
        typer.echo("no budgets")


def _budget_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        _usage(f"BUDGET_ID {value!r}: not a budget id (see `jobcost budgets list`)")


@budgets_app.command("update")
def budgets_update(
    budget_id: Annotated[str, typer.Argument(help="The budget's id (`jobcost budgets list`).")],
    amount: Annotated[str | None, typer.Option(help="New USD amount.", show_default=False)] = None,
    period: Annotated[str | None, typer.Option(help="month or quarter.", show_default=False)] = None,
    threshold: ThresholdOption = None,
    name: NameOption = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Change a budget's amount, period, thresholds or name (the options given)."""
    parsed = _budget_id(budget_id)
    body = _validated(BudgetPatch, {"amount": amount, "period": period,
                                    "thresholds": list(threshold) if threshold else None, "name": name})
    view = _change(database_url, lambda service: service.update(parsed, body))
    typer.echo(f"updated budget {_text(view)}")


@budgets_app.command("delete")
def budgets_delete(
    budget_id: Annotated[str, typer.Argument(help="The budget's id (`jobcost budgets list`).")],
    database_url: DatabaseUrlOption = None,
) -> None:
    """Delete a budget: it alerts no more."""
    parsed = _budget_id(budget_id)
    _change(database_url, lambda service: service.delete(parsed))
    typer.echo(f"deleted budget {parsed}")
