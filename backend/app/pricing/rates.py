"""`RateCardService`: the admin's changes to the rate card (add, retire, aliases) and what reads it (the card at an
instant, its history, the change log).

Each change is written in the caller's transaction, logged in `price_changes`, and answered with an outcome whose
`scopes` (`RecostScope`s) name exactly what it can reprice. The service neither commits nor recosts: its callers
(the admin routes, `jobcost prices`) commit, then hand `outcome.scopes` to `app.recost`'s runner.

Changes take the job writers' lock (`serialize_job_writers`) for their transaction: an ingest batch costed with
the card before the change commits first, and the recost after the change then sees its jobs.

Rules (issue 11):
- Adding rates is all or none. A custom rate overlapping in time another custom rate of the same (provider, GPU
  type) is refused (409 naming the other), unless the other is open-ended and starts earlier: it is then closed at
  the new rate's `valid_from` (the outcome's `closed`). The rates of one request are checked against each other
  the same way, in `valid_from` order. Catalog rates never conflict: a custom rate overrides them.
- Retiring a custom rate keeps it for the history (`retired_at`) and reopens the rates its addition closed, up to
  the next custom rate of the same pair (or open), so retiring restores the figures from before it.
- An alias maps a spelling to a canonical name; it applies to names read from then on and the outcome's scopes
  name the jobs stored under the name the spelling read as before.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.db.dialect import insert_for, serialize_job_writers
from app.db.models import AliasKind, GpuPrice, NameAlias, RateOrigin
from app.pricing.catalog import PriceCatalog, default_catalog
from app.pricing.changes import ChangePage, alias_json, list_changes, log_change, rate_json
from app.pricing.errors import CatalogRateError, RateConflictError, RateInputError, RateNotFoundError
from app.pricing.rate_input import RateInput, RateLike, read_aliases, read_rates
from app.pricing.rate_rules import ANY_PROVIDER
from app.pricing.scopes import RecostScope
from app.pricing.service import list_prices, load_name_resolver_or_catalog


@dataclass(frozen=True, slots=True)
class ClosedRate:
    """An open-ended custom rate that a new one closed: `rate` (as it is now), closed at `at` by `by` (an id)."""

    rate: GpuPrice
    at: datetime
    by: uuid.UUID


@dataclass(slots=True)
class AddOutcome:
    """`added` rates (in request order), `closed` rates, `unchanged` (request indexes of rates already there, with
    `unchanged_ok`) and the `scopes` to recost."""

    added: list[GpuPrice] = field(default_factory=list)
    closed: list[ClosedRate] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    scopes: list[RecostScope] = field(default_factory=list)


@dataclass(slots=True)
class RetireOutcome:
    """The `retired` rate, the rates `reopened` by retiring it, and the `scopes` to recost."""

    retired: GpuPrice
    reopened: list[GpuPrice] = field(default_factory=list)
    scopes: list[RecostScope] = field(default_factory=list)


@dataclass(slots=True)
class AliasOutcome:
    """The aliases set (`changed`: kind → spelling → (name before, name now)) and the `scopes` to recost."""

    changed: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)
    scopes: list[RecostScope] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RateView:
    """A rate and its state at the instant asked: `in_force`, `future` (starts later), `ended` (past its
    `valid_to`), `superseded` (an open rate a later one of its pair and origin took over) or `retired`."""

    rate: GpuPrice
    state: str


def _scope(provider: str, gpu_type: str | None, start: datetime | None, end: datetime | None) -> RecostScope:
    return RecostScope(None if provider == ANY_PROVIDER else provider, gpu_type, start, end)


def _overlaps(a_from: datetime, a_to: datetime | None, b_from: datetime, b_to: datetime | None) -> bool:
    return (b_to is None or a_from < b_to) and (a_to is None or b_from < a_to)


class RateCardService:
    """Changes and reads of the rate card in `session` (see the module docstring). `catalog` stands in for the
    database's aliases while it has none."""

    def __init__(self, session: AsyncSession, *, catalog: PriceCatalog | None = None) -> None:
        self.session = session
        self.catalog = catalog or default_catalog()

    async def add_rates(self, rates: Sequence[RateLike], created_by: str, *, unchanged_ok: bool = False
                        ) -> AddOutcome:
        """Add custom `rates` (names read through the aliases in force), all or none. Raises RateInputError (422)
        for bad names, RateConflictError (409) listing every overlap. With `unchanged_ok`, a rate equal to a
        custom rate in force (same pair, validity and amount) is counted as unchanged instead of overlapping it
        (re-importing a card file)."""
        names = await load_name_resolver_or_catalog(self.session, self.catalog)
        wanted = read_rates(rates, names)
        await serialize_job_writers(self.session)
        current = await self._custom_rates({rate.key for rate in wanted})
        outcome = AddOutcome()
        conflicts: list[dict[str, object]] = []
        to_close: dict[uuid.UUID, tuple[GpuPrice, RateInput]] = {}
        accepted: dict[tuple[str, str], list[RateInput]] = defaultdict(list)
        for new in sorted(wanted, key=lambda r: (r.key, r.valid_from, r.index)):
            stored = current.get(new.key, [])
            if unchanged_ok and any(_same(rate, new) for rate in stored):
                outcome.unchanged.append(new.index)
                continue
            for rate in stored:
                if rate.id in to_close or not _overlaps(new.valid_from, new.valid_to, rate.valid_from, rate.valid_to):
                    continue
                if rate.valid_to is None and rate.valid_from < new.valid_from:
                    to_close[rate.id] = (rate, new)
                else:
                    conflicts.append({"index": new.index, "other": rate_json(rate)})
            for earlier in accepted[new.key]:
                if _overlaps(new.valid_from, new.valid_to, earlier.valid_from, earlier.valid_to):
                    if earlier.valid_to is None and earlier.valid_from < new.valid_from:
                        continue  # closed below, when written
                    conflicts.append({"index": new.index, "other": {"index": earlier.index}})
            accepted[new.key].append(new)
        if conflicts:
            raise RateConflictError(conflicts)

        now = utcnow()
        ids = {new.index: uuid.uuid4() for key in accepted for new in accepted[key]}
        for key, news in accepted.items():
            for i, new in enumerate(news):
                following = next((n for n in news[i + 1:] if n.valid_from > new.valid_from), None)
                valid_to = new.valid_to
                if valid_to is None and following is not None:
                    valid_to = following.valid_from  # an open rate of the request, closed by a later one
                rate = GpuPrice(id=ids[new.index], provider=key[0], gpu_type=key[1],
                                usd_per_gpu_hour=new.usd_per_gpu_hour, valid_from=new.valid_from, valid_to=valid_to,
                                origin=RateOrigin.custom, note=new.note, created_by=created_by, created_at=now,
                                updated_at=now,
                                closed_by_id=ids[following.index] if valid_to != new.valid_to and following else None)
                self.session.add(rate)
                outcome.added.append(rate)
                log_change(self.session, actor=created_by, action="add", rate_id=rate.id, after=rate_json(rate),
                           at=now)
                outcome.scopes.append(_scope(key[0], key[1], new.valid_from, valid_to))
        for rate, new in to_close.values():
            before = rate_json(rate)
            rate.valid_to, rate.closed_by_id, rate.updated_at = new.valid_from, ids[new.index], now
            log_change(self.session, actor=created_by, action="close", rate_id=rate.id, before=before,
                       after=rate_json(rate), at=now)
            outcome.closed.append(ClosedRate(rate, new.valid_from, ids[new.index]))
            outcome.scopes.append(_scope(rate.provider, rate.gpu_type, new.valid_from, None))
        index_of = {rate_id: index for index, rate_id in ids.items()}
        outcome.added.sort(key=lambda r: index_of[r.id])
        await self.session.flush()
        return outcome

    async def retire(self, rate_id: uuid.UUID, retired_by: str) -> RetireOutcome:
        """Retire custom rate `rate_id` and reopen the rates its addition closed. Raises RateNotFoundError (404:
        unknown or already retired) and CatalogRateError (409: a catalog rate)."""
        await serialize_job_writers(self.session)
        rate = await self.session.get(GpuPrice, rate_id, with_for_update=True)
        if rate is None:
            raise RateNotFoundError(rate_id)
        if rate.origin == RateOrigin.catalog:
            raise CatalogRateError(rate_id)
        if rate.retired_at is not None:
            raise RateNotFoundError(rate_id, retired=True)
        now = utcnow()
        before = rate_json(rate)
        rate.retired_at, rate.retired_by, rate.updated_at = now, retired_by, now
        log_change(self.session, actor=retired_by, action="retire", rate_id=rate.id, before=before,
                   after=rate_json(rate), at=now)
        outcome = RetireOutcome(retired=rate, scopes=[_scope(rate.provider, rate.gpu_type, rate.valid_from,
                                                             rate.valid_to)])
        others = [r for r in (await self._custom_rates({(rate.provider, rate.gpu_type)})).get(
            (rate.provider, rate.gpu_type), []) if r.id != rate.id]
        for closed in [r for r in others if r.closed_by_id == rate.id]:
            following = min((r for r in others if r.valid_from > closed.valid_from and r.id != closed.id),
                            key=lambda r: r.valid_from, default=None)
            before = rate_json(closed)
            closed.valid_to = following.valid_from if following is not None else None
            closed.closed_by_id = following.id if following is not None else None
            closed.updated_at = now
            log_change(self.session, actor=retired_by, action="reopen", rate_id=closed.id, before=before,
                       after=rate_json(closed), at=now)
            outcome.reopened.append(closed)
            outcome.scopes.append(_scope(closed.provider, closed.gpu_type, rate.valid_from, closed.valid_to))
        await self.session.flush()
        return outcome

    async def set_aliases(self, *, gpu_type: Mapping[str, str] | None = None,
                          provider: Mapping[str, str] | None = None, created_by: str) -> AliasOutcome:
        """Map spellings to canonical names (custom aliases, replacing any alias of the same spelling). Raises
        RateInputError (422) naming `gpu_type.<spelling>` / `provider.<spelling>`. Scopes: the jobs stored under
        the name each changed spelling read as before (any provider for a GPU type, any GPU type for a
        provider)."""
        await serialize_job_writers(self.session)
        names = await load_name_resolver_or_catalog(self.session, self.catalog)
        wanted: dict[AliasKind, dict[str, str]] = {}
        errors: list[dict[str, object]] = []
        for kind, given, read, in_force in (
                (AliasKind.gpu_type, gpu_type, names.canonical_gpu_type, names.gpu_type_aliases),
                (AliasKind.provider, provider, names.canonical_provider, names.provider_aliases)):
            try:
                wanted[kind] = read_aliases(str(kind), given or {}, read, in_force)
            except RateInputError as exc:  # both kinds' errors, in one answer
                errors.extend(exc.extra["errors"])
        if errors:
            raise RateInputError(errors)
        outcome = AliasOutcome()
        now = utcnow()
        for kind, table in wanted.items():
            read_before = names.canonical_gpu_type if kind is AliasKind.gpu_type else names.canonical_provider
            for spelling, canonical in sorted(table.items()):
                before = read_before(spelling)
                stored = (await self.session.execute(select(NameAlias).where(
                    NameAlias.kind == kind, NameAlias.spelling == spelling))).scalar_one_or_none()
                if before == canonical and stored is not None and stored.origin == RateOrigin.custom:
                    continue
                stmt = insert_for(self.session, NameAlias).values(
                    id=uuid.uuid4(), kind=kind, spelling=spelling, canonical=canonical, origin=RateOrigin.custom,
                    created_by=created_by, created_at=now, updated_at=now)
                await self.session.execute(stmt.on_conflict_do_update(
                    index_elements=["kind", "spelling"],
                    set_={"canonical": canonical, "origin": RateOrigin.custom.value, "created_by": created_by,
                          "updated_at": now}))
                log_change(self.session, actor=created_by, action="alias", at=now,
                           before=alias_json(kind, spelling, before, None if stored is None else str(stored.origin)),
                           after=alias_json(kind, spelling, canonical, RateOrigin.custom.value))
                if before != canonical:
                    outcome.changed.setdefault(str(kind), {})[spelling] = (before, canonical)
                    outcome.scopes.append(RecostScope(None, before) if kind is AliasKind.gpu_type
                                          else RecostScope(before, None))
        await self.session.flush()
        return outcome

    async def list_rates(self, at: datetime | None = None, history: bool = False) -> list[RateView]:
        """The rates in force at `at` (now when None), each `in_force`; with `history`, every rate ever added
        (retired ones too), each with its state at `at`. Ordered by provider, GPU type, `valid_from`, origin."""
        at = at or utcnow()
        rates = await list_prices(self.session, include_retired=history)
        following = _following(rates)
        views = [RateView(rate, _state(rate, at, following.get(rate.id))) for rate in rates]
        return views if history else [view for view in views if view.state == "in_force"]

    async def changes(self, *, skip: int = 0, limit: int = 50) -> ChangePage:
        """The change log, newest first (see `app.pricing.changes.list_changes`)."""
        return await list_changes(self.session, skip=skip, limit=limit)

    async def _custom_rates(self, keys: set[tuple[str, str]]) -> dict[tuple[str, str], list[GpuPrice]]:
        """The custom rates in force of the pairs `keys` (not retired), locked until the transaction ends."""
        found: dict[tuple[str, str], list[GpuPrice]] = defaultdict(list)
        if not keys:
            return found
        rows = await self.session.execute(
            select(GpuPrice).where(GpuPrice.origin == RateOrigin.custom.value, GpuPrice.retired_at.is_(None),
                                   GpuPrice.gpu_type.in_({gpu_type for _, gpu_type in keys}))
            .order_by(GpuPrice.valid_from).with_for_update())
        for rate in rows.scalars():
            if (rate.provider, rate.gpu_type) in keys:
                found[(rate.provider, rate.gpu_type)].append(rate)
        return found


def _same(rate: GpuPrice, new: RateInput) -> bool:
    return (rate.valid_from, rate.valid_to, rate.usd_per_gpu_hour) == (new.valid_from, new.valid_to,
                                                                        new.usd_per_gpu_hour)


def _following(rates: list[GpuPrice]) -> dict[uuid.UUID, datetime]:
    """Rate id → the start of the next rate (not retired) of its provider, GPU type and origin."""
    groups: dict[tuple[str, str, str], list[GpuPrice]] = defaultdict(list)
    for rate in rates:
        if rate.retired_at is None:
            groups[(rate.provider, rate.gpu_type, str(rate.origin))].append(rate)
    following: dict[uuid.UUID, datetime] = {}
    for group in groups.values():
        group.sort(key=lambda r: r.valid_from)
        for rate, later in zip(group, group[1:], strict=False):
            if later.valid_from > rate.valid_from:
                following[rate.id] = later.valid_from
    return following


def _state(rate: GpuPrice, at: datetime, following: datetime | None) -> str:
    if rate.retired_at is not None:
        return "retired"
    if rate.valid_from > at:
        return "future"
    if rate.valid_to is not None and at >= rate.valid_to:
        return "ended"
    if following is not None and at >= following:
        return "superseded"
    return "in_force"
