"""GPU prices in the database: the bundled catalog written in (rates and aliases), the rate card read out for
costing, and the aliases read out for ingest."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.db.dialect import insert_for
from app.db.models import AliasKind, GpuPrice, NameAlias, RateOrigin
from app.db.types import usd_to_micros
from app.ingestion.costing import PricePoint, to_epoch_ms
from app.pricing.aliases import NameResolver, load_name_resolver
from app.pricing.catalog import PriceCatalog
from app.pricing.changes import CATALOG_ACTOR, alias_json, log_change, rate_json
from app.pricing.resolution import RateSpan, Resolution

CATALOG_ONLY = GpuPrice.origin == RateOrigin.catalog.value


class RateCard:
    """The rates in force over time, resolved for costing: `points_for(provider, gpu_type)` gives the price
    points of one pair in `valid_from` order (micro-USD per GPU-hour as an exact fraction), empty when no rate
    ever applies.

    This is the one question the cost model asks of the rate card; how rates are resolved (precedence of custom
    over catalog rates, `*` providers, `valid_to`, MIG slices at g/7 of their parent) is
    `app.pricing.resolution`.

    Two cards are equal when they were resolved from the same rates: an ingest that costed a chunk ahead, with
    the card of the chunk before, checks it against the card it reads under the writers' lock
    (`app/ingestion/pipeline.py`)."""

    __slots__ = ("_resolution", "_spans")

    def __init__(self, spans: Iterable[RateSpan]) -> None:
        self._spans = tuple(spans)
        self._resolution = Resolution(self._spans)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RateCard) and self._spans == other._spans

    __hash__ = None  # type: ignore[assignment]  # equal by value: not a dict key

    def points_for(self, provider: str | None, gpu_type: str | None) -> tuple[PricePoint, ...]:
        """The price points of `(provider, gpu_type)`; `()` when either is missing or no rate applies."""
        if not provider or not gpu_type:
            return ()
        return self._resolution.points_for(provider, gpu_type)

    def __bool__(self) -> bool:
        return bool(self._resolution)


def rate_span(rate: GpuPrice) -> RateSpan:
    """A stored rate as resolution reads it."""
    return RateSpan(rate.provider, rate.gpu_type, usd_to_micros(rate.usd_per_gpu_hour), to_epoch_ms(rate.valid_from),
                    None if rate.valid_to is None else to_epoch_ms(rate.valid_to), rate.origin == RateOrigin.custom)


async def sync_catalog(session: AsyncSession, catalog: PriceCatalog) -> int:
    """Write the catalog: its rates as `catalog` rates (new `(provider, gpu_type, valid_from)` inserted, existing
    ones take the catalog's amount, source and source date) and its aliases as `catalog` aliases (a custom alias
    of the same spelling is left alone). Every row inserted or changed is logged in `price_changes` (actor
    `catalog`). Idempotent and safe to run from several processes at once (`INSERT … ON CONFLICT DO UPDATE`
    touching only rows that differ). Jobs already costed keep their cost until they are recosted or ingested
    again. Returns the number of catalog rates."""
    count = await _sync_rates(session, catalog)
    await _sync_aliases(session, catalog)
    await session.flush()
    return count


async def _sync_rates(session: AsyncSession, catalog: PriceCatalog) -> int:
    if not catalog.prices:
        return 0
    now = utcnow()
    before = {r.id: rate_json(r)
              for r in (await session.execute(select(GpuPrice).where(CATALOG_ONLY))).scalars()}
    rows = [{"id": uuid.uuid4(), "provider": p.provider, "gpu_type": p.gpu_type,
             "usd_per_gpu_hour": p.usd_per_gpu_hour, "valid_from": p.valid_from, "source": p.source,
             "source_date": p.source_date, "origin": RateOrigin.catalog, "created_by": CATALOG_ACTOR,
             "created_at": now, "updated_at": now}
            for p in sorted(catalog.prices, key=lambda p: (p.provider, p.gpu_type, p.valid_from))]
    stmt = insert_for(session, GpuPrice).values(rows)
    changed = ((GpuPrice.usd_per_gpu_hour != stmt.excluded.usd_per_gpu_hour_micros)
               | (GpuPrice.source.is_distinct_from(stmt.excluded.source))
               | (GpuPrice.source_date.is_distinct_from(stmt.excluded.source_date)))
    written = await session.execute(stmt.on_conflict_do_update(
        index_elements=["provider", "gpu_type", "valid_from"], index_where=text("origin = 'catalog'"),
        set_={"usd_per_gpu_hour_micros": stmt.excluded.usd_per_gpu_hour_micros, "source": stmt.excluded.source,
              "source_date": stmt.excluded.source_date, "updated_at": stmt.excluded.updated_at},
        where=changed).returning(GpuPrice.id))
    ids = [row[0] for row in written]
    if ids:
        for rate in (await session.execute(select(GpuPrice).where(GpuPrice.id.in_(ids))
                                           .execution_options(populate_existing=True))).scalars():
            log_change(session, actor=CATALOG_ACTOR, action="catalog", rate_id=rate.id, at=now,
                       before=before.get(rate.id), after=rate_json(rate))
    return len(rows)


async def _sync_aliases(session: AsyncSession, catalog: PriceCatalog) -> None:
    now = utcnow()
    rows = [{"id": uuid.uuid4(), "kind": kind, "spelling": spelling, "canonical": canonical,
             "origin": RateOrigin.catalog, "created_by": CATALOG_ACTOR, "created_at": now, "updated_at": now}
            for kind, table in ((AliasKind.gpu_type, catalog.gpu_type_aliases),
                                (AliasKind.provider, catalog.provider_aliases))
            for spelling, canonical in sorted(table.items())]
    if not rows:
        return
    before = {(str(a.kind), a.spelling): a.canonical
              for a in (await session.execute(select(NameAlias))).scalars()}
    stmt = insert_for(session, NameAlias).values(rows)
    written = await session.execute(stmt.on_conflict_do_update(
        index_elements=["kind", "spelling"],
        set_={"canonical": stmt.excluded.canonical, "updated_at": stmt.excluded.updated_at},
        where=(NameAlias.origin == RateOrigin.catalog.value) & (NameAlias.canonical != stmt.excluded.canonical),
    ).returning(NameAlias.kind, NameAlias.spelling, NameAlias.canonical))
    for kind, spelling, canonical in written:
        log_change(session, actor=CATALOG_ACTOR, action="catalog", at=now,
                   before=_alias_before(before, str(kind), spelling),
                   after=alias_json(str(kind), spelling, canonical, RateOrigin.catalog.value))


def _alias_before(before: dict[tuple[str, str], str], kind: str, spelling: str) -> dict[str, object] | None:
    canonical = before.get((kind, spelling))
    return None if canonical is None else alias_json(kind, spelling, canonical, RateOrigin.catalog.value)


async def list_prices(session: AsyncSession, *, include_retired: bool = False) -> list[GpuPrice]:
    """Every rate (retired ones only with `include_retired`), ordered by provider, GPU type, `valid_from`, origin."""
    query = select(GpuPrice)
    if not include_retired:
        query = query.where(GpuPrice.retired_at.is_(None))
    result = await session.execute(
        query.order_by(GpuPrice.provider, GpuPrice.gpu_type, GpuPrice.valid_from, GpuPrice.origin))
    return list(result.scalars())


async def load_rate_card(session: AsyncSession) -> RateCard:
    """The rate card from the rates not retired, resolved as `app.pricing.resolution` says."""
    return RateCard(rate_span(rate) for rate in await list_prices(session))


async def load_rate_card_or_catalog(session: AsyncSession, catalog: PriceCatalog) -> RateCard:
    """The rate card; when `gpu_prices` holds no catalog rate (the database was unreachable or not yet migrated
    when the service started, so the start-up sync did not run) the bundled `catalog` is written first, in the
    caller's transaction, so that no estimate silently turns into `unpriced`."""
    rates = await list_prices(session)
    if catalog.prices and not any(rate.origin == RateOrigin.catalog for rate in rates):
        await sync_catalog(session, catalog)
        rates = await list_prices(session)
    return RateCard(rate_span(rate) for rate in rates)


async def load_name_resolver_or_catalog(session: AsyncSession, catalog: PriceCatalog) -> NameResolver:
    """The aliases in the database; when there are none (start-up sync did not run), the bundled catalog's, so
    that ingest never reads names differently for want of a seeding."""
    names = await load_name_resolver(session)
    if not names.gpu_type_aliases and not names.provider_aliases:
        return NameResolver(catalog.gpu_type_aliases, catalog.provider_aliases)
    return names

