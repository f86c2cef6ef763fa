"""GPU prices in the database: the bundled catalog written in, the rate card read out for costing."""

from __future__ import annotations

import uuid
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.db.dialect import insert_for
from app.db.models import GpuPrice
from app.db.types import usd_to_micros
from app.ingestion.costing import PricePoint, to_epoch_ms
from app.pricing.catalog import PriceCatalog


class RateCard:
    """The rates in force over time, resolved for costing: `points_for(provider, gpu_type)` gives the price
    points of one pair in `valid_from` order (integer micro-USD per GPU-hour), empty when none applies.

    This is the one question the cost model asks of the rate card; how rates are resolved (precedence of
    custom over catalog rates, `*` providers, MIG slices) lives behind it."""

    __slots__ = ("_points",)

    def __init__(self, points: dict[tuple[str, str], tuple[PricePoint, ...]]) -> None:
        self._points = points

    def points_for(self, provider: str | None, gpu_type: str | None) -> tuple[PricePoint, ...]:
        """The price points of `(provider, gpu_type)`; `()` when either is missing or no rate applies."""
        if not provider or not gpu_type:
            return ()
        return self._points.get((provider, gpu_type), ())

    def __bool__(self) -> bool:
        return bool(self._points)


async def sync_catalog(session: AsyncSession, catalog: PriceCatalog) -> int:
    """Write the catalog's prices: new `(provider, gpu_type, valid_from)` entries are inserted, existing ones
    take the catalog's amount, source and source date. Idempotent and safe to run from several processes at once
    (one `INSERT … ON CONFLICT DO UPDATE`). Jobs already costed keep their cost until they are ingested again.
    Returns the number of catalog entries."""
    if not catalog.prices:
        return 0
    now = utcnow()
    rows = [{"id": uuid.uuid4(), "provider": p.provider, "gpu_type": p.gpu_type,
             "usd_per_gpu_hour": p.usd_per_gpu_hour, "valid_from": p.valid_from, "source": p.source,
             "source_date": p.source_date, "created_at": now, "updated_at": now}
            for p in sorted(catalog.prices, key=lambda p: (p.provider, p.gpu_type, p.valid_from))]
    stmt = insert_for(session, GpuPrice).values(rows)
    changed = ((GpuPrice.usd_per_gpu_hour != stmt.excluded.usd_per_gpu_hour_micros)
               | (GpuPrice.source != stmt.excluded.source)
               | (GpuPrice.source_date != stmt.excluded.source_date))
    await session.execute(stmt.on_conflict_do_update(
        index_elements=["provider", "gpu_type", "valid_from"],
        set_={"usd_per_gpu_hour_micros": stmt.excluded.usd_per_gpu_hour_micros, "source": stmt.excluded.source,
              "source_date": stmt.excluded.source_date, "updated_at": stmt.excluded.updated_at},
        where=changed))
    return len(rows)


async def list_prices(session: AsyncSession) -> list[GpuPrice]:
    """Every price, ordered by provider, GPU type and `valid_from`."""
    result = await session.execute(
        select(GpuPrice).order_by(GpuPrice.provider, GpuPrice.gpu_type, GpuPrice.valid_from))
    return list(result.scalars())


async def load_rate_card(session: AsyncSession) -> RateCard:
    """`(provider, gpu_type)` → its price points in `valid_from` order, as integer micro-USD per GPU-hour."""
    card: dict[tuple[str, str], list[PricePoint]] = defaultdict(list)
    for price in await list_prices(session):
        card[(price.provider, price.gpu_type)].append(
            PricePoint(to_epoch_ms(price.valid_from), usd_to_micros(price.usd_per_gpu_hour)))
    return RateCard({pair: tuple(points) for pair, points in card.items()})


async def load_rate_card_or_catalog(session: AsyncSession, catalog: PriceCatalog) -> RateCard:
    """The rate card; when `gpu_prices` is empty (the database was unreachable or not yet migrated when the
    service started, so the start-up sync did not run) the bundled `catalog` is written first, in the caller's
    transaction, so that no estimate silently turns into `unpriced`."""
    card = await load_rate_card(session)
    if not card and catalog.prices:
        await sync_catalog(session, catalog)
        card = await load_rate_card(session)
    return card
