"""`RateCardService`: adding (all or none, overlaps, closing an open rate), retiring (restores what was there),
aliases, the card at an instant and its history, the scopes each change names, and the change log."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.ingestion.costing import cost_job, to_epoch_ms
from app.pricing.aliases import load_name_resolver
from app.pricing.catalog import default_catalog
from app.pricing.errors import CatalogRateError, RateConflictError, RateInputError, RateNotFoundError
from app.pricing.rate_rules import RateFields
from app.pricing.rates import RateCardService
from app.pricing.scopes import RecostScope
from app.pricing.service import list_prices, load_rate_card, sync_catalog

ADMIN = "admin@example.com"
Y2019 = datetime(2019, 1, 1, tzinfo=UTC)
Y2020 = datetime(2020, 1, 1, tzinfo=UTC)
Y2021 = datetime(2021, 1, 1, tzinfo=UTC)
Y2022 = datetime(2022, 1, 1, tzinfo=UTC)
HOUR_MS = 3_600_000


def rate(provider: str, gpu_type: str, usd: str, valid_from: datetime, valid_to: datetime | None = None,
         note: str | None = None) -> RateFields:
    return RateFields(provider=provider, gpu_type=gpu_type, usd_per_gpu_hour=Decimal(usd), valid_from=valid_from,
                      valid_to=valid_to, note=note)


async def one_hour_cost(session: AsyncSession, provider: str, gpu_type: str, at: datetime) -> int | None:
    """Micro-USD of one GPU for one hour from `at`, with the card as it is in `session`."""
    card = await load_rate_card(session)
    start = to_epoch_ms(at)
    return cost_job(start_ms=start, end_ms=start + HOUR_MS, gpu_milli=1000, billed_micros=None,
                    prices=card.points_for(provider, gpu_type)).cost_micros


async def test_add_prices_an_onprem_cluster_from_2019(session: AsyncSession) -> None:
    service = RateCardService(session)
    outcome = await service.add_rates([rate(" OnPrem ", "v100m16", "2.10", Y2019, note="chargeback")], ADMIN)
    [added] = outcome.added
    assert (added.provider, added.gpu_type, added.origin, added.created_by) == ("onprem", "V100M16", "custom",
                                                                                 ADMIN)
    assert outcome.scopes == [RecostScope("onprem", "V100M16", Y2019, None)]
    assert await one_hour_cost(session, "onprem", "V100M16", Y2019) == 2_100_000
    page = await service.changes(limit=1)
    assert (page.changes[0].action, page.changes[0].actor, page.changes[0].after["usd_per_gpu_hour"]) == (
        "add", ADMIN, "2.100000")


async def test_a_star_rate_scopes_every_provider_and_a_custom_pair_beats_the_catalog(session: AsyncSession
                                                                                   ) -> None:
    await sync_catalog(session, default_catalog())
    service = RateCardService(session)
    outcome = await service.add_rates([rate("*", "H100", "1.00", Y2021, Y2022)], ADMIN)
    assert outcome.scopes == [RecostScope(None, "H100", Y2021, Y2022)]
    catalog_aws = await one_hour_cost(session, "aws", "H100", Y2021)
    assert catalog_aws == 6_880_000  # the catalog's (aws, H100) beats a custom (*, H100)
    assert await one_hour_cost(session, "onprem", "H100", Y2021) == 1_000_000
    await service.add_rates([rate("aws", "H100", "5.00", Y2021)], ADMIN)
    assert await one_hour_cost(session, "aws", "H100", Y2021) == 5_000_000


async def test_overlap_is_refused_naming_the_other_rate_and_nothing_is_written(session: AsyncSession) -> None:
    service = RateCardService(session)
    first = (await service.add_rates([rate("onprem", "T4", "0.30", Y2020, Y2021)], ADMIN)).added[0]
    before = len(await list_prices(session))
    with pytest.raises(RateConflictError) as refused:
        await service.add_rates([rate("onprem", "A10", "1.00", Y2020),
                                 rate("onprem", "T4", "0.40", Y2019, Y2022)], ADMIN)
    assert refused.value.status == 409
    [conflict] = refused.value.extra["conflicts"]
    assert (conflict["index"], conflict["other"]["id"]) == (1, str(first.id))
    assert str(first.id) in refused.value.detail
    assert len(await list_prices(session)) == before  # the good rate of the request was not written either


async def test_an_open_rate_that_starts_earlier_is_closed_and_retiring_reopens_it(session: AsyncSession) -> None:
    service = RateCardService(session)
    old = (await service.add_rates([rate("onprem", "V100", "2.00", Y2019)], ADMIN)).added[0]
    outcome = await service.add_rates([rate("onprem", "V100", "3.00", Y2021, Y2022)], ADMIN)
    [closed] = outcome.closed
    assert (closed.rate.id, closed.at, old.valid_to) == (old.id, Y2021, Y2021)
    assert RecostScope("onprem", "V100", Y2021, None) in outcome.scopes
    assert await one_hour_cost(session, "onprem", "V100", Y2021) == 3_000_000
    assert await one_hour_cost(session, "onprem", "V100", Y2022) is None  # the new one ended; the old is closed

    new = outcome.added[0]
    retired = await service.retire(new.id, ADMIN)
    assert [r.id for r in retired.reopened] == [old.id]
    assert old.valid_to is None and new.retired_at is not None
    assert retired.scopes == [RecostScope("onprem", "V100", Y2021, Y2022), RecostScope("onprem", "V100", Y2021, None)]
    for at in (Y2019, Y2021, Y2022):
        assert await one_hour_cost(session, "onprem", "V100", at) == 2_000_000  # as before the addition

    views = await service.list_rates(at=Y2021, history=True)
    assert {(v.rate.id, v.state) for v in views if v.rate.gpu_type == "V100" and v.rate.provider == "onprem"} == {
        (old.id, "in_force"), (new.id, "retired")}
    actions = [c.action for c in (await service.changes(limit=4)).changes]
    assert sorted(actions) == ["add", "close", "reopen", "retire"]


async def test_rates_of_one_request_follow_each_other(session: AsyncSession) -> None:
    service = RateCardService(session)
    outcome = await service.add_rates([rate("onprem", "P100", "1.50", Y2021), rate("onprem", "P100", "1.00", Y2019)],
                                      ADMIN)
    later, earlier = outcome.added
    assert (earlier.valid_to, later.valid_to) == (Y2021, None)
    assert await one_hour_cost(session, "onprem", "P100", Y2020) == 1_000_000
    assert await one_hour_cost(session, "onprem", "P100", Y2021) == 1_500_000
    with pytest.raises(RateConflictError) as refused:
        await service.add_rates([rate("x", "P100", "1", Y2019, Y2021), rate("x", "P100", "2", Y2020, Y2022)], ADMIN)
    assert refused.value.extra["conflicts"] == [{"index": 1, "other": {"index": 0}}]


async def test_unchanged_ok_counts_a_rate_already_there(session: AsyncSession) -> None:
    service = RateCardService(session)
    await service.add_rates([rate("onprem", "L4", "0.50", Y2019)], ADMIN)
    again = await service.add_rates([rate("onprem", "L4", "0.50", Y2019)], ADMIN, unchanged_ok=True)
    assert (again.added, again.unchanged, again.scopes) == ([], [0], [])


async def test_retire_refuses_catalog_and_unknown_rates(session: AsyncSession) -> None:
    await sync_catalog(session, default_catalog())
    service = RateCardService(session)
    catalog_rate = next(r for r in await list_prices(session) if r.origin == "catalog")
    with pytest.raises(CatalogRateError):
        await service.retire(catalog_rate.id, ADMIN)
    with pytest.raises(RateNotFoundError):
        await service.retire(uuid.uuid4(), ADMIN)
    added = (await service.add_rates([rate("onprem", "A40", "1", Y2019)], ADMIN)).added[0]
    await service.retire(added.id, ADMIN)
    with pytest.raises(RateNotFoundError):
        await service.retire(added.id, ADMIN)


async def test_bad_names_are_named_by_index_and_field(session: AsyncSession) -> None:
    service = RateCardService(session)
    with pytest.raises(RateInputError) as refused:
        await service.add_rates([rate("onprem", "T4", "1", Y2019), rate("onprem", "*", "1", Y2019)], ADMIN)
    assert [e["loc"] for e in refused.value.extra["errors"]] == [["body", "rates", 1, "gpu_type"]]


async def test_aliases_rename_what_is_read_from_then_on_and_scope_the_old_name(session: AsyncSession) -> None:
    service = RateCardService(session)
    outcome = await service.set_aliases(gpu_type={"V100M16": "v100-16gb"}, provider={"OnPrem-DC": "onprem"},
                                        created_by=ADMIN)
    assert outcome.changed == {"gpu_type": {"v100m16": ("V100M16", "V100")},
                               "provider": {"onprem-dc": ("onprem-dc", "onprem")}}
    assert outcome.scopes == [RecostScope(None, "V100M16"), RecostScope("onprem-dc", None)]
    names = await load_name_resolver(session)
    assert (names.canonical_gpu_type(" v100m16 "), names.canonical_provider("ONPREM-DC")) == ("V100", "onprem")
    again = await service.set_aliases(gpu_type={"v100m16": "V100"}, created_by=ADMIN)
    assert (again.changed, again.scopes) == ({}, [])
    with pytest.raises(RateInputError) as refused:
        await service.set_aliases(gpu_type={" ": "X", "ok": ""}, created_by=ADMIN)
    assert [e["loc"] for e in refused.value.extra["errors"]] == [["body", "gpu_type", " "], ["body", "gpu_type", "ok"]]


async def test_the_card_at_an_instant(session: AsyncSession) -> None:
    service = RateCardService(session)
    await service.add_rates([rate("onprem", "K80", "0.10", Y2019, Y2020), rate("onprem", "K80", "0.20", Y2021)],
                            ADMIN)

    def shown(views: list) -> list[str]:
        return [str(v.rate.usd_per_gpu_hour) for v in views if v.rate.gpu_type == "K80"]
    assert shown(await service.list_rates(at=Y2019)) == ["0.100000"]
    assert shown(await service.list_rates(at=Y2020)) == []
    assert shown(await service.list_rates(at=Y2022)) == ["0.200000"]
    history = await service.list_rates(at=Y2022, history=True)
    assert [v.state for v in history if v.rate.gpu_type == "K80"] == ["ended", "in_force"]
