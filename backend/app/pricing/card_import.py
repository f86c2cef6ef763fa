"""What importing a rate-card file changes, decided before anything is written (pure: no database).

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

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from app.core.money import six_places
from app.pricing.rate_file import FileRate, Problem, RateFile


class CardRate(Protocol):
    """A custom rate in force, as the import compares it (a `GpuPrice` row fits)."""

    @property
    def id(self) -> object: ...
    @property
    def provider(self) -> str: ...
    @property
    def gpu_type(self) -> str: ...
    @property
    def usd_per_gpu_hour(self) -> Decimal: ...
    @property
    def valid_from(self) -> datetime: ...
    @property
    def valid_to(self) -> datetime | None: ...
    @property
    def note(self) -> str | None: ...


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
