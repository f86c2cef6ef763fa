"""`jobcost prices list | add | retire | import | export | recost`: the rate card from the command line.

Like `jobcost users`, the commands act on the database directly (`DATABASE_URL` or `--database-url`), with the
rules of the admin API (`POST/DELETE /api/v1/admin/prices…`, through `RateCardService`). A change is committed,
then the jobs it can reprice are recosted at once, chunk by chunk, with a progress bar, and the recost's report
is printed (the figures the API answers with). Who made a change is recorded as `--as EMAIL` (an active admin's
e-mail) or, without it, as `cli`.

Exit codes: 0 done; 1 refused by the card (an overlap, an unknown or catalog rate, a conflict with a rate in
force, an unknown or non-admin `--as`) or a database error; 2 a usage error (a bad option value, an unreadable
file or one with bad lines: nothing is written). Never a traceback.

The helpers of `app.cli` (settings, one committed session, one-line database errors) are imported when a command
runs, not at import time: `app.cli` imports this module to register the sub-app.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from pydantic_core import PydanticCustomError
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.cli_options import DatabaseUrlOption
from app.core.config import Settings
from app.core.errors import AppError
from app.core.money import six_places
from app.db.models import GpuPrice, Role, User
from app.ingestion.normalize import parse_instant
from app.pricing.card_import import CardConflictError, CardFileError, ImportOutcome, export_card, import_card
from app.pricing.errors import RateInputError
from app.pricing.rate_file import RateFileError, RateFileFormat, read_rate_file, render_rate_file
from app.pricing.rate_rules import RateFields
from app.pricing.rates import ClosedRate, RateCardService, RateView
from app.pricing.scopes import RecostScope
from app.recost.cli import recost, recost_and_report

T = TypeVar("T")

DEFAULT_ACTOR = "cli"

prices_app = typer.Typer(
    help="The rate card: your own USD per GPU-hour rates (custom) beside the bundled catalog. Changes reprice "
         "the jobs they touch at once. File formats: docs/rate-cards.md.",
    no_args_is_help=True,
)

ActorOption = Annotated[
    str | None,
    typer.Option("--as", help=f"The e-mail of an active admin, recorded as who made the change (default: "
                              f"`{DEFAULT_ACTOR}`).", show_default=False),
]


def _usage(message: str) -> NoReturn:
    from app.cli import err_console

    err_console.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    raise typer.Exit(2)


def _refused_file(path: Path, problems: Sequence[Any], *, code: int = 2) -> NoReturn:
    """Exit `code` listing every problem of the file, one a line (at most MAX_PROBLEMS, the rest counted)."""
    from app.cli import err_console
    from app.pricing.rate_file import MAX_PROBLEMS

    count = len(problems)
    err_console.print(f"[red]refused:[/red] {escape(str(path))} has {count} problem{'s' * (count != 1)}, "
                      "nothing was imported", soft_wrap=True)
    for problem in problems[:MAX_PROBLEMS]:
        err_console.print(f"  {escape(str(problem))}", soft_wrap=True, highlight=False)
    if count > MAX_PROBLEMS:
        err_console.print(f"  … and {count - MAX_PROBLEMS} more", highlight=False)
    raise typer.Exit(code)


def _instant(value: datetime | None) -> str:
    return "-" if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _actor(as_: str | None) -> str:
    return DEFAULT_ACTOR if as_ is None else as_.strip().lower()


async def _check_actor(session: AsyncSession, actor: str) -> None:
    """`--as EMAIL` must name an active admin (exit 1 otherwise); the default actor needs no account."""
    if actor == DEFAULT_ACTOR:
        return
    user = (await session.execute(select(User).where(User.email == actor))).scalar_one_or_none()
    if user is None or user.role is not Role.admin or not user.is_active:
        state = "no such user" if user is None else ("deactivated" if not user.is_active else user.role.value)
        raise AppError(f"--as {actor}: not an active admin ({state})")


def _change(settings: Settings, actor: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run a change in one committed writer's transaction, as `actor` (checked first)."""
    from app.cli import _run_with_session

    async def run(auth: Any) -> T:
        await _check_actor(auth.session, actor)
        return await work(auth.session)

    return _run_with_session(settings, run, write=True)


def _recost(settings: Settings, scopes: Sequence[RecostScope]) -> None:
    """Reprice what a committed change can touch, with a progress bar, and print the report."""
    if scopes:
        recost_and_report(settings, scopes)


def _print(text: str) -> None:
    from app.cli import console

    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _rate_text(rate: GpuPrice) -> str:
    return (f"{rate.id}: {rate.provider} {rate.gpu_type} {six_places(rate.usd_per_gpu_hour)} USD per GPU-hour "
            f"from {_instant(rate.valid_from)} to {_instant(rate.valid_to)}")


def _print_closed(closed: Sequence[ClosedRate], indent: str = "") -> None:
    for item in closed:
        _print(f"{indent}closed rate {item.rate.id} ({item.rate.provider} {item.rate.gpu_type} from "
               f"{_instant(item.rate.valid_from)}) at {_instant(item.at)}")


def _instant_option(name: str, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_instant(value)
    except PydanticCustomError as exc:
        _usage(f"{name} {value!r}: {exc.message()}")


# --- list --------------------------------------------------------------------------------------------------------


@prices_app.command("list")
def prices_list(
    at: Annotated[str | None, typer.Option(
        help="The card in force at this instant (RFC 3339 with an offset, e.g. 2019-06-01T00:00:00Z); default: now.",
        show_default=False)] = None,
    history: Annotated[bool, typer.Option(
        "--history", help="Every rate ever added, retired and superseded ones too, with its state at --at.")] = False,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Show the rate card: id, origin (catalog or custom), provider, GPU type, USD per GPU-hour, validity (UTC) and
    where the figure comes from (the catalog's source, or the custom rate's note and who added it)."""
    from app.cli import _run_with_session, _settings

    settings = _settings(database_url)
    instant = _instant_option("--at", at)

    async def work(auth: Any) -> list[RateView]:
        return await RateCardService(auth.session).list_rates(instant, history)

    views = _run_with_session(settings, work)
    if not views:
        _print("no rates" + ("" if history else " in force") + " (the bundled catalog is written when the "
               "service starts, or by `jobcost demo`)")
        return
    table = Table("id", "origin", "provider", "gpu_type", "usd_per_gpu_hour", "valid_from", "valid_to",
                  *(["state"] if history else []), "basis", caption="times in UTC")
    for column in table.columns[:7]:
        column.no_wrap = True
    for view in views:
        rate = view.rate
        basis = rate.note or rate.source or ""
        if rate.created_by:
            basis = f"{basis} (by {rate.created_by})" if basis else f"by {rate.created_by}"
        table.add_row(str(rate.id), str(rate.origin), escape(rate.provider), escape(rate.gpu_type),
                      six_places(rate.usd_per_gpu_hour), _instant(rate.valid_from), _instant(rate.valid_to),
                      *([view.state] if history else []), escape(basis))
    from app.cli import console

    Console(width=max(console.width, 200)).print(table)


# --- add, retire -------------------------------------------------------------------------------------------------


@prices_app.command("add")
def prices_add(
    provider: Annotated[str, typer.Option(help="The provider as jobs carry it (`onprem`), or `*`: any provider "
                                               "without a rate of its own for the GPU type.")],
    gpu_type: Annotated[str, typer.Option(help="The GPU type as jobs carry it (`V100`, `A100-80GB`).")],
    usd_per_gpu_hour: Annotated[str, typer.Option(help="USD per GPU-hour: more than 0, at most 6 decimal places.")],
    valid_from: Annotated[str, typer.Option(help="When it starts: RFC 3339 with an offset (2019-01-01T00:00:00Z).")],
    valid_to: Annotated[str | None, typer.Option(help="When it ends (excluded); default: open-ended.",
                                                 show_default=False)] = None,
    note: Annotated[str | None, typer.Option(help="Where the figure comes from.", show_default=False)] = None,
    as_: ActorOption = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Add a custom rate, then recost the jobs it can reprice. An open-ended custom rate of the same provider and
    GPU type that starts earlier is closed at --valid-from; any other overlap is refused (exit 1)."""
    from app.cli import _settings

    settings = _settings(database_url)
    try:
        rate = RateFields.model_validate({
            "provider": provider, "gpu_type": gpu_type, "usd_per_gpu_hour": usd_per_gpu_hour,
            "valid_from": valid_from, "valid_to": valid_to, "note": note})
    except ValidationError as exc:
        error = exc.errors(include_url=False, include_input=False)[0]
        _usage(f"--{str(error['loc'][0]).replace('_', '-')}: {error['msg']}")
    actor = _actor(as_)

    async def work(session: AsyncSession) -> Any:
        try:
            return await RateCardService(session).add_rates([rate], actor)
        except RateInputError as exc:  # a rule checked once names are read: a bad option value, as above
            error = exc.extra["errors"][0]
            raise _BadOption(f"--{str(error['loc'][-1]).replace('_', '-')}: {error['msg']}") from None

    try:
        outcome = _change(settings, actor, work)
    except _BadOption as exc:
        _usage(str(exc))
    for added in outcome.added:
        _print(f"added rate {_rate_text(added)}")
    _print_closed(outcome.closed)
    _recost(settings, outcome.scopes)


@prices_app.command("retire")
def prices_retire(
    rate_id: Annotated[str, typer.Argument(metavar="ID", help="The rate's id, as `jobcost prices list` shows.")],
    as_: ActorOption = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Retire a custom rate (kept in the history), reopen the rates its addition closed, then recost the jobs it
    priced. A catalog rate cannot be retired (exit 1): add a custom rate to override it."""
    from app.cli import _settings

    settings = _settings(database_url)
    try:
        parsed = uuid.UUID(rate_id.strip())
    except ValueError:
        _usage(f"ID {rate_id!r}: not a rate id (a UUID, as `jobcost prices list` shows)")
    actor = _actor(as_)

    async def work(session: AsyncSession) -> Any:
        return await RateCardService(session).retire(parsed, actor)

    outcome = _change(settings, actor, work)
    _print(f"retired rate {_rate_text(outcome.retired)}")
    for reopened in outcome.reopened:
        _print(f"reopened rate {_rate_text(reopened)}")
    _recost(settings, outcome.scopes)


# --- import, export ----------------------------------------------------------------------------------------------


@prices_app.command("import")
def prices_import(
    file: Annotated[Path, typer.Argument(help="A rate card: .csv or .toml (docs/rate-cards.md).")],
    format: Annotated[RateFileFormat | None, typer.Option(
        "--format", help="csv or toml; default: from the file's name.", show_default=False)] = None,
    as_: ActorOption = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Import a whole rate card, all or nothing, then recost the jobs it can reprice. Rates the card already has
    are left alone, so importing the same file twice changes nothing; an open-ended custom rate that starts
    earlier is closed by a new one. A bad line is named with its field (exit 2); a rate that differs from one in
    force starting at the same instant is refused (exit 1)."""
    from app.cli import _settings

    settings = _settings(database_url)
    try:
        card = read_rate_file(file, format)
    except RateFileError as exc:
        _refused_file(file, exc.problems)
    actor = _actor(as_)

    async def work(session: AsyncSession) -> ImportOutcome:
        try:
            return await import_card(session, card, actor)
        except CardFileError as exc:  # said line by line below, not as one AppError line
            raise _Refused(exc) from None

    try:
        outcome = _change(settings, actor, work)
    except _Refused as refused:
        _refused_file(file, refused.error.problems, code=1 if isinstance(refused.error, CardConflictError) else 2)
    aliases = sum(len(table) for table in outcome.aliases.changed.values())
    _print(f"imported {file}: {len(outcome.added.added)} added, {outcome.unchanged} unchanged, "
           f"{len(outcome.added.closed)} closed" + (f", {aliases} alias{'es' * (aliases != 1)} set" if aliases else ""))
    _print_closed(outcome.added.closed, indent="  ")
    _recost(settings, outcome.scopes)


class _BadOption(Exception):
    """An option refused by a rule checked in the database's transaction (exit 2, naming the option)."""


class _Refused(Exception):
    def __init__(self, error: CardFileError) -> None:
        self.error = error


@prices_app.command("export")
def prices_export(
    format: Annotated[RateFileFormat, typer.Option("--format", help="csv or toml (toml also carries aliases).")
                      ] = RateFileFormat.toml,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Write the custom rates not retired (closed and future ones with their validity) to standard output, in the
    format `prices import` reads: export → import round-trips. Catalog rates ship with jobcost and are left out;
    so are aliases in CSV, which has no place for them (a warning says so)."""
    from app.cli import _run_with_session, _settings, err_console

    settings = _settings(database_url)

    async def work(auth: Any) -> Any:
        return await export_card(auth.session)

    card = _run_with_session(settings, work)
    if format is RateFileFormat.csv and (card.gpu_type_aliases or card.provider_aliases):
        err_console.print("[yellow]warning:[/yellow] the card has custom aliases, which CSV cannot hold: export "
                          "as toml to keep them")
        card = type(card)(card.rates)
    typer.echo(render_rate_file(card, format), nl=False)


prices_app.command("recost")(recost)


