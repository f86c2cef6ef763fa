"""Importing a rate-card file into the card and exporting the card to one: `plan_import` decides what an import
changes before anything is written (pure), `import_card` and `export_card` do it in a session.

Importing is additive and idempotent: a rate of the file that the card already has (same provider, GPU type,
`valid_from`, amount, `valid_to` and note, among the custom rates in force) is left alone; a new one is added
(adding may close an open-ended custom rate of the same key that starts earlier, as `POST /api/v1/admin/prices`
does); a rate that starts at the same instant as a custom rate in force but differs from it is a conflict that
refuses the whole file. Custom rates the file does not mention are kept. So importing the same file twice
changes nothing the second time.

An open-ended rate of the file matches a custom rate that was closed by the next rate of its key (the API
closes an open-ended rate when a later one is added): "until the next rate" is what open-ended means.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import ConflictError, UnprocessableError
from app.core.money import six_places
from app.db.models import NameAlias, RateOrigin
from app.pricing.catalog import default_catalog
from app.pricing.errors import RateInputError
from app.pricing.rate_file import FileRate, Problem, RateFile
from app.pricing.rate_input import RateLike, read_rates
from app.pricing.rates import AddOutcome, AliasOutcome, RateCardService
from app.pricing.scopes import RecostScope
from app.pricing.service import list_prices, load_name_resolver_or_catalog


class CardRate(RateLike, Protocol):
    """A custom rate in force, as the import compares it (a `GpuPrice` row fits): a rate's fields and its id."""

    @property
    def id(self) -> object: ...


@dataclass(frozen=True, slots=True)
class ImportPlan:
    """`add`: the file's rates the card lacks, in file order; `unchanged`: how many it has already;
    `conflicts`: rates that differ from a custom rate starting at the same instant (the file is refused);
    `gpu_type_aliases`/`provider_aliases`: the file's aliases that are new or name another target."""

    add: tuple[FileRate, ...]
    unchanged: int
    conflicts: tuple[Problem, ...] = ()
    gpu_type_aliases: dict[str, str] = field(default_factory=dict)
    provider_aliases: dict[str, str] = field(default_factory=dict)

    @property
    def changes_nothing(self) -> bool:
        return not (self.add or self.gpu_type_aliases or self.provider_aliases)


def plan_import(card: RateFile, existing: Iterable[CardRate],
                aliases: Mapping[str, Mapping[str, str]] | None = None) -> ImportPlan:
    """Compare `card` with the custom rates in force (`existing`, not retired) and the custom aliases in force
    (`aliases`: kind → spelling → canonical name; spellings compared case-folded)."""
    current = {(r.provider, r.gpu_type, r.valid_from): r for r in existing}
    starts: dict[tuple[str, str], set[datetime]] = defaultdict(set)
    for provider, gpu_type, valid_from in current:
        starts[(provider, gpu_type)].add(valid_from)
    for rate in card.rates:
        starts[(rate.provider, rate.gpu_type)].add(rate.valid_from)
    where = card.where or tuple(f"rates[{i}]" for i in range(len(card.rates)))
    add: list[FileRate] = []
    unchanged = 0
    conflicts: list[Problem] = []
    for at, rate in zip(where, card.rates, strict=True):
        have = current.get(rate.key)
        if have is None:
            add.append(rate)
        elif _same(rate, have, starts[(rate.provider, rate.gpu_type)]):
            unchanged += 1
        else:
            conflicts.append(Problem(at, None, _conflict(rate, have)))
    aliases = aliases or {}
    return ImportPlan(tuple(add), unchanged, tuple(conflicts),
                      _new_aliases(card.gpu_type_aliases, aliases.get("gpu_type", {})),
                      _new_aliases(card.provider_aliases, aliases.get("provider", {})))


def _same(rate: FileRate, have: CardRate, starts: set[datetime]) -> bool:
    if rate.usd_per_gpu_hour != have.usd_per_gpu_hour or (rate.note or None) != (have.note or None):
        return False
    if rate.valid_to == have.valid_to:
        return True
    # Open-ended in the file, closed in the card at the start of the next rate of its key: the same rate.
    return rate.valid_to is None and have.valid_to is not None and have.valid_to in starts


def _conflict(rate: FileRate, have: CardRate) -> str:
    until = "open-ended" if have.valid_to is None else f"until {have.valid_to.isoformat()}"
    return (f"{rate.provider}/{rate.gpu_type} from {rate.valid_from.isoformat()} is already rate {have.id} "
            f"({six_places(have.usd_per_gpu_hour)} USD, {until}{', note ' + repr(have.note) if have.note else ''})"
            f", which differs: retire it first (jobcost prices retire {have.id})")


def _new_aliases(wanted: Mapping[str, str], current: Mapping[str, str]) -> dict[str, str]:
    folded = {spelling.casefold(): target for spelling, target in current.items()}
    return {spelling: target for spelling, target in wanted.items() if folded.get(spelling.casefold()) != target}


def file_rate(rate: CardRate) -> FileRate:
    """A rate of the card as a file writes it (for `prices export`)."""
    return FileRate(rate.provider, rate.gpu_type, rate.usd_per_gpu_hour, rate.valid_from, rate.valid_to,
                    rate.note or None)


class CardFileError(UnprocessableError):
    """The file's rates break a rule checked once names are read (a GPU type `*`, a name too long once
    canonical), or conflict with rates in force: `problems` names each by its place in the file."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems), problems=[str(p) for p in problems])


class CardConflictError(ConflictError, CardFileError):
    """409: a rate of the file starts at the same instant as a different custom rate in force."""


@dataclass(slots=True)
class ImportOutcome:
    """What an import did: `added` rates, `unchanged` (already in the card), the custom rates `closed` by the new
    ones, the aliases set, and the `scopes` to recost."""

    added: AddOutcome = field(default_factory=AddOutcome)
    aliases: AliasOutcome = field(default_factory=AliasOutcome)
    unchanged: int = 0

    @property
    def scopes(self) -> list[RecostScope]:
        return [*self.aliases.scopes, *self.added.scopes]


async def import_card(session: AsyncSession, card: RateFile, created_by: str) -> ImportOutcome:
    """Import `card` in the caller's transaction (the caller commits, then recosts `outcome.scopes`): its aliases
    first (new or changed ones), then its rates read through the aliases, as `plan_import` decides. Raises
    CardFileError (422) or CardConflictError (409) naming the file's lines, and RateCardService's errors."""
    service = RateCardService(session)
    outcome = ImportOutcome()
    current_aliases = await _custom_aliases(session)
    plan = plan_import(RateFile((), card.gpu_type_aliases, card.provider_aliases), [], current_aliases)
    if plan.gpu_type_aliases or plan.provider_aliases:
        try:
            outcome.aliases = await service.set_aliases(gpu_type=plan.gpu_type_aliases,
                                                        provider=plan.provider_aliases, created_by=created_by)
        except RateInputError as exc:
            raise CardFileError([_alias_problem(error) for error in exc.extra["errors"]]) from None
    if not card.rates:
        return outcome
    where = card.where or tuple(f"rates[{i}]" for i in range(len(card.rates)))
    canonical = _canonical(card, await _read_names(session, card, where), where)
    existing = [rate for rate in await list_prices(session) if rate.origin == RateOrigin.custom]
    plan = plan_import(canonical, existing)
    if plan.conflicts:
        raise CardConflictError(list(plan.conflicts))
    outcome.unchanged = plan.unchanged
    if plan.add:
        outcome.added = await service.add_rates(plan.add, created_by)
    return outcome


def _alias_problem(error: Mapping[str, Any]) -> Problem:
    """A refused alias (loc `body`, kind, spelling) named as the file names it: `aliases.<kind>."<spelling>"`."""
    kind, *spelling = error["loc"][1:]
    where = f"aliases.{kind}" + "".join(f".{json.dumps(str(s), ensure_ascii=False)}" for s in spelling)
    return Problem(where, None, error["msg"])


async def _read_names(session: AsyncSession, card: RateFile, where: tuple[str, ...]) -> list[FileRate]:
    names = await load_name_resolver_or_catalog(session, default_catalog())
    try:
        read = read_rates(card.rates, names)
    except RateInputError as exc:
        problems = []
        for error in exc.extra.get("errors", []):
            loc = [part for part in error["loc"] if part not in ("body", "rates")]
            at = where[loc[0]] if loc and isinstance(loc[0], int) else "file"
            problems.append(Problem(at, str(loc[1]) if len(loc) > 1 else None, error["msg"]))
        raise CardFileError(problems) from None
    return [FileRate(r.provider, r.gpu_type, r.usd_per_gpu_hour, r.valid_from, r.valid_to, r.note) for r in read]


def _canonical(card: RateFile, rates: list[FileRate], where: tuple[str, ...]) -> RateFile:
    """The card with canonical names; two rates that become the same key and start refuse the file."""
    seen: dict[tuple[str, str, datetime], str] = {}
    problems = []
    for at, rate in zip(where, rates, strict=True):
        if rate.key in seen:
            problems.append(Problem(at, "valid_from", f"{rate.provider}/{rate.gpu_type} from "
                                    f"{rate.valid_from.isoformat()} is given twice once names are read through the "
                                    f"aliases (also {seen[rate.key]})"))
        seen.setdefault(rate.key, at)
    if problems:
        raise CardFileError(problems)
    return RateFile(tuple(rates), where=where)


async def _custom_aliases(session: AsyncSession) -> dict[str, dict[str, str]]:
    aliases: dict[str, dict[str, str]] = {"gpu_type": {}, "provider": {}}
    rows = await session.execute(select(NameAlias).where(NameAlias.origin == RateOrigin.custom.value))
    for alias in rows.scalars():
        aliases[str(alias.kind)][alias.spelling] = alias.canonical
    return aliases


async def export_card(session: AsyncSession) -> RateFile:
    """The custom rates not retired (closed ones with their `valid_to`, future ones too) and the custom aliases,
    as a card file holds them. Catalog rates and aliases are not in it: they ship with jobcost."""
    rates = [file_rate(rate) for rate in await list_prices(session) if rate.origin == RateOrigin.custom]
    aliases = await _custom_aliases(session)
    return RateFile(tuple(rates), aliases["gpu_type"], aliases["provider"])
