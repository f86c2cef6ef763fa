"""What a rate card change asks for, read into canonical names: rates (`RateFields` of `app.pricing.rate_rules`,
the same rules for the API and for files) and aliases. Pure: the aliases in force are passed in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from pydantic_core import PydanticCustomError

from app.ingestion.field_rules import clean_text
from app.pricing.aliases import NameResolver
from app.pricing.errors import RateInputError
from app.pricing.rate_rules import ANY_PROVIDER, NAME_MAX

MAX_RATES = 1_000  # in one request
ALIAS_SPELLING_MAX = 255
MAX_ALIASES = 1_000


class RateLike(Protocol):
    """A rate as given: a `RateFields` (API) or a `FileRate` (file) fits."""

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
class RateInput:
    """One new rate, names canonical (`provider` may be `*`); `index` is its place in the request."""

    index: int
    provider: str
    gpu_type: str
    usd_per_gpu_hour: Decimal
    valid_from: datetime
    valid_to: datetime | None
    note: str | None

    @property
    def key(self) -> tuple[str, str]:
        return (self.provider, self.gpu_type)


def read_rates(rates: Sequence[RateLike], names: NameResolver) -> list[RateInput]:
    """`rates` with canonical names (through `names`, as ingest reads jobs' names). Raises RateInputError naming
    `rates.<i>.<field>` for a name too long once canonical or a GPU type `*`, and for an empty or too long list."""
    errors: list[dict[str, Any]] = []
    if not rates or len(rates) > MAX_RATES:
        raise RateInputError([_error(("rates",), f"give 1 to {MAX_RATES} rates", "length")])
    read = []
    for i, rate in enumerate(rates):
        provider = ANY_PROVIDER if rate.provider.strip() == ANY_PROVIDER else names.canonical_provider(rate.provider)
        gpu_type = names.canonical_gpu_type(rate.gpu_type)
        if rate.gpu_type.strip() == ANY_PROVIDER:
            errors.append(_error(("rates", i, "gpu_type"), "must name a GPU type (`*` is for providers only)",
                                 "value_error"))
        for field, value in (("provider", provider), ("gpu_type", gpu_type)):
            if len(value) > NAME_MAX:
                errors.append(_error(("rates", i, field), f"is {value!r} once canonical: at most {NAME_MAX} "
                                                          "characters", "string_too_long"))
        read.append(RateInput(i, provider, gpu_type, rate.usd_per_gpu_hour, rate.valid_from, rate.valid_to,
                              rate.note))
    if errors:
        raise RateInputError(errors)
    return read


def read_aliases(kind: str, aliases: Mapping[str, str], canonical: Any,
                 in_force: Mapping[str, str] | None = None) -> dict[str, str]:
    """`aliases` (spelling → name) of `kind` as case-folded spelling → canonical name (`canonical(name)` makes a
    target canonical, so an alias may point at another spelling). Raises RateInputError naming `<kind>.<spelling>`
    for an empty spelling or name, one too long, a spelling with control or invisible characters, a spelling given
    twice (trimmed and case-folded) with different names, and (given the
    aliases `in_force`, case-folded spelling → name) an alias that would make a chain or a cycle: a spelling is
    read once, so a name must not itself be a spelling of another name."""
    errors: list[dict[str, Any]] = []
    read: dict[str, str] = {}
    given: dict[str, str] = {}
    if len(aliases) > MAX_ALIASES:
        errors.append(_error((kind,), f"at most {MAX_ALIASES} aliases in one request", "too_long"))
    for spelling, target in aliases.items():
        key = spelling.strip().casefold()
        if not key or len(key) > ALIAS_SPELLING_MAX:
            errors.append(_error((kind, spelling), f"the spelling must have 1 to {ALIAS_SPELLING_MAX} characters",
                                 "string_too_long" if key else "string_too_short"))
            continue
        try:
            clean_text(spelling, ALIAS_SPELLING_MAX, normalize=False)
        except PydanticCustomError as exc:
            errors.append(_error((kind, spelling), exc.message(), exc.type))
            continue
        name = canonical(target) if isinstance(target, str) and target.strip() else ""
        if not name or len(name) > NAME_MAX or name == ANY_PROVIDER:
            errors.append(_error((kind, spelling), f"must map to a name of 1 to {NAME_MAX} characters (not `*`)",
                                 "value_error"))
            continue
        if key in read and read[key] != name:
            errors.append(_error((kind, spelling), f"is the spelling {given[key]!r} again (spellings match trimmed "
                                                   f"and case-folded), mapped to {read[key]!r}: give it once",
                                 "duplicate_spelling"))
            continue
        read[key] = name
        given[key] = spelling
    errors.extend(_chains(kind, read, given, in_force or {}))
    if errors:
        raise RateInputError(errors)
    return read


def _chains(kind: str, read: Mapping[str, str], given: Mapping[str, str],
            in_force: Mapping[str, str]) -> list[dict[str, Any]]:
    """Errors for aliases `read` that, with those `in_force`, map a spelling to a name that is itself a spelling
    of another name (`a` → `b` → `c`, or `a` → `b` → `a`): names are read through one alias, not a chain."""
    merged = {**in_force, **read}
    errors = []
    for key, name in read.items():
        onward = merged.get(name.casefold())
        if onward is not None and onward != name:
            errors.append(_error((kind, given[key]), f"maps to {name!r}, which is itself a spelling of {onward!r}: "
                                                     f"map it to {onward!r} (an alias is read once, not in a chain)",
                                 "alias_chain"))
    for key, name in read.items():
        if name.casefold() == key:
            continue
        pointing = sorted(spelling for spelling, target in merged.items()
                          if spelling not in read and spelling != key and target.casefold() == key)
        if pointing:
            shown = ", ".join(repr(s) for s in pointing[:5]) + (f" and {len(pointing) - 5} more"
                                                                 if len(pointing) > 5 else "")
            errors.append(_error((kind, given[key]), f"is the name that {shown} map to: map them to {name!r} too, "
                                                     "in the same request (an alias is read once, not in a chain)",
                                 "alias_chain"))
    return errors


def _error(loc: tuple[Any, ...], msg: str, kind: str) -> dict[str, Any]:
    return {"loc": ["body", *loc], "msg": msg, "type": kind}
