"""The shipped catalog seeded into the database: rates and aliases as `catalog` rows, idempotently, logged in
`price_changes`; a custom alias survives the seeding; ingest reads names through the database's aliases and keeps
what was sent."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import AliasKind, GpuPrice, Job, NameAlias, PriceChange, RateOrigin
from app.ingestion.service import JobIngestionService
from app.pricing.aliases import load_name_resolver
from app.pricing.catalog import default_catalog
from app.pricing.service import load_rate_card, sync_catalog
from tests.ingestion.conftest import job


async def _count(session: AsyncSession, model: type) -> int:
    return (await session.execute(select(func.count()).select_from(model))).scalar_one()


async def test_seeding_is_idempotent_and_logged(session: AsyncSession) -> None:
    catalog = default_catalog()
    await sync_catalog(session, catalog)
    rates, aliases, changes = (await _count(session, GpuPrice), await _count(session, NameAlias),
                               await _count(session, PriceChange))
    assert rates >= len(catalog.prices)
    assert aliases == len(catalog.gpu_type_aliases) + len(catalog.provider_aliases)
    await sync_catalog(session, catalog)
    assert (await _count(session, GpuPrice), await _count(session, NameAlias),
            await _count(session, PriceChange)) == (rates, aliases, changes)

    # A new figure in the file: the catalog row changes, and the log says from what to what.
    first = catalog.prices[0]
    changed = replace(catalog, prices=(replace(first, usd_per_gpu_hour=first.usd_per_gpu_hour + 1),
                                       *catalog.prices[1:]))
    await sync_catalog(session, changed)
    logged = (await session.execute(select(PriceChange).where(PriceChange.rate_id.is_not(None))
                                    .order_by(PriceChange.created_at.desc()).limit(1))).scalar_one()
    assert (logged.actor, logged.action) == ("catalog", "catalog")
    assert Decimal(logged.after["usd_per_gpu_hour"]) - Decimal(logged.before["usd_per_gpu_hour"]) == 1
    assert (logged.after["provider"], logged.after["gpu_type"]) == (first.provider, first.gpu_type)
    assert await _count(session, GpuPrice) == rates
    card = await load_rate_card(session)
    assert card.points_for(first.provider, first.gpu_type)


async def test_a_custom_alias_survives_the_seeding_and_ingest_uses_it(session: AsyncSession) -> None:
    catalog = default_catalog()
    await sync_catalog(session, catalog)
    spelling, target = next(iter((k, v) for k, v in catalog.gpu_type_aliases.items() if k != v.casefold()))
    row = (await session.execute(select(NameAlias).where(NameAlias.kind == AliasKind.gpu_type,
                                                         NameAlias.spelling == spelling))).scalar_one()
    row.canonical, row.origin = "MY-GPU", RateOrigin.custom
    await session.flush()
    await sync_catalog(session, catalog)
    names = await load_name_resolver(session)
    assert names.canonical_gpu_type(spelling.upper()) == "MY-GPU"
    assert catalog.canonical_gpu_type(spelling.upper()) == target

    await JobIngestionService(session).ingest([job("aliased-1", gpu_type=f" {spelling.upper()} ")])
    stored = (await session.execute(select(Job).where(Job.job_id == "aliased-1"))).scalar_one()
    assert stored.gpu_type == "MY-GPU"
    assert stored.labels["gpu_type_sent"] == spelling.upper()
