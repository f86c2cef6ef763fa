"""The GPU price catalog: `GET /api/v1/prices`, the bundled file itself, catalog parsing, writing the catalog into
the database, and the lifespan loading it at start."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import create_sessionmaker
from app.db.models import GpuPrice, Job, Role
from app.pricing.catalog import CatalogError, parse_catalog
from app.pricing.service import sync_catalog
from tests.api.live import serve
from tests.api.problems import assert_unauthenticated
from tests.conftest import make_settings
from tests.databases import ScratchDatabase, engine_for
from tests.factories import bearer, create_user
from tests.ingestion.conftest import ingest_ok, job

PRICES = "/api/v1/prices"
CATALOG_FILE = Path(__file__).resolve().parents[2] / "app" / "data" / "gpu_prices.json"
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
SIX_PLACES = re.compile(r"^\d+\.\d{6}$")
DECIMAL_STRING = re.compile(r"^\d+(\.\d{1,6})?$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _bundled() -> dict[str, Any]:
    return json.loads(CATALOG_FILE.read_text(encoding="utf-8"))


def _six(value: str) -> str:
    """A decimal string written with exactly 6 places (the file's amounts have at most 6, so nothing rounds)."""
    return f"{Decimal(value).quantize(Decimal('0.000001')):f}"


# --- GET /prices --------------------------------------------------------------------------------------------


async def test_prices_need_a_token(client: httpx.AsyncClient) -> None:
    assert_unauthenticated(await client.get(PRICES))


async def test_a_member_reads_the_catalog(client: httpx.AsyncClient, member_headers: dict[str, str]) -> None:
    response = await client.get(PRICES, headers=member_headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["currency"] == "USD"
    prices = body["prices"]
    assert prices
    for entry in prices:
        assert isinstance(entry["usd_per_gpu_hour"], str) and SIX_PLACES.match(entry["usd_per_gpu_hour"]), entry
        assert datetime.fromisoformat(entry["valid_from"]).tzinfo is not None, entry
        assert {"provider", "gpu_type", "source", "source_date"} <= set(entry)
    keys = [(p["provider"], p["gpu_type"], datetime.fromisoformat(p["valid_from"])) for p in prices]
    assert keys == sorted(keys)
    # The test database holds exactly the bundled catalog.
    expected = sorted((p["provider"], p["gpu_type"], _six(p["usd_per_gpu_hour"]), p["source"], p["source_date"])
                      for p in _bundled()["prices"])
    assert sorted((p["provider"], p["gpu_type"], p["usd_per_gpu_hour"], p["source"], p["source_date"])
                  for p in prices) == expected
    assert all(datetime.fromisoformat(p["valid_from"]) == EPOCH for p in prices)

    aliases = body["aliases"]
    assert {"gpu_type", "provider"} <= set(aliases)
    assert aliases["gpu_type"]["a100-sxm4-80gb"] == "A100-80GB"
    assert aliases["provider"]["amazon"] == "aws"


# --- the bundled file ---------------------------------------------------------------------------------------


def test_bundled_catalog_covers_the_common_gpus_and_clouds() -> None:
    prices = _bundled()["prices"]
    gpu_types = {p["gpu_type"] for p in prices}
    providers = {p["provider"] for p in prices}

    assert {"A100-40GB", "A100-80GB", "H100", "L4", "T4", "A10G", "V100"} <= gpu_types
    assert {"aws", "gcp", "azure"} <= providers
    assert providers - {"aws", "gcp", "azure"}, "no GPU cloud besides the three hyperscalers"


def test_bundled_catalog_entries_are_sourced_dated_and_exact() -> None:
    today = datetime.now(UTC).date()
    seen: set[tuple[str, str, datetime]] = set()
    for i, entry in enumerate(_bundled()["prices"]):
        source = urlparse(entry["source"])
        assert source.scheme in ("http", "https") and source.netloc, (i, entry["source"])
        assert isinstance(entry["source_date"], str) and ISO_DATE.match(entry["source_date"]), (i, entry)
        assert date.fromisoformat(entry["source_date"]) <= today, (i, entry["source_date"])
        assert entry["valid_from"] == "2020-01-01T00:00:00Z", (i, entry["valid_from"])
        amount = entry["usd_per_gpu_hour"]
        assert isinstance(amount, str) and DECIMAL_STRING.match(amount), (i, amount)
        assert Decimal(amount) > 0, (i, amount)
        assert entry["provider"].strip() == entry["provider"] and entry["provider"], (i, entry)
        assert entry["gpu_type"].strip() == entry["gpu_type"] and entry["gpu_type"], (i, entry)
        key = (entry["provider"], entry["gpu_type"], datetime.fromisoformat(entry["valid_from"]))
        assert key not in seen, (i, key)
        seen.add(key)


def test_bundled_aliases_point_at_priced_names() -> None:
    document = _bundled()
    gpu_types = {p["gpu_type"] for p in document["prices"]}
    providers = {p["provider"] for p in document["prices"]}
    aliases = document["aliases"]

    assert aliases["gpu_type"] and aliases["provider"]
    for spelling, target in aliases["gpu_type"].items():
        assert target in gpu_types, (spelling, target)
    for spelling, target in aliases["provider"].items():
        assert target in providers, (spelling, target)
    # DESIGN.md's examples.
    folded_gpu = {k.strip().casefold(): v for k, v in aliases["gpu_type"].items()}
    folded_provider = {k.strip().casefold(): v for k, v in aliases["provider"].items()}
    assert folded_gpu["a100-sxm4-80gb"] == "A100-80GB"
    assert folded_gpu["a100 80gb"] == "A100-80GB"
    assert folded_provider["amazon"] == "aws"


# --- parse_catalog ------------------------------------------------------------------------------------------


def _entry(**fields: Any) -> dict[str, Any]:
    entry = {"provider": "testcloud", "gpu_type": "H100", "usd_per_gpu_hour": "2.50",
             "valid_from": "2020-01-01T00:00:00Z", "source": "https://example.test/prices",
             "source_date": "2026-01-01"}
    entry.update(fields)
    return entry


def test_parse_catalog_reads_a_valid_catalog() -> None:
    catalog = parse_catalog({"prices": [_entry(), _entry(gpu_type="A10G", usd_per_gpu_hour="0.123456")],
                             "aliases": {"gpu_type": {"Nvidia H100": "H100"}, "provider": {"Test Cloud": "testcloud"}}})

    assert [(p.provider, p.gpu_type, p.usd_per_gpu_hour, p.valid_from) for p in catalog.prices] == [
        ("testcloud", "H100", Decimal("2.50"), EPOCH), ("testcloud", "A10G", Decimal("0.123456"), EPOCH)]
    assert catalog.canonical_gpu_type(" nvidia h100 ") == "H100"
    assert catalog.canonical_provider("TEST CLOUD") == "testcloud"


@pytest.mark.parametrize(("bad", "index"), [
    pytest.param([_entry(), _entry(gpu_type="A10G", usd_per_gpu_hour="-1.00")], 1, id="negative price"),
    pytest.param([_entry(), _entry(gpu_type="A10G", usd_per_gpu_hour="1.0000001")], 1, id="7 decimal places"),
    pytest.param([_entry(), _entry(gpu_type="A10G", valid_from="2020-01-01T00:00:00")], 1, id="naive valid_from"),
    pytest.param([_entry(), _entry(gpu_type="A10G"), _entry(usd_per_gpu_hour="3.00")], 2, id="duplicate entry"),
    # The same instant spelled with another offset is the same key.
    pytest.param([_entry(), _entry(valid_from="2020-01-01T01:00:00+01:00")], 1, id="duplicate instant"),
])
def test_parse_catalog_refuses_malformed_entries(bad: list[dict[str, Any]], index: int) -> None:
    with pytest.raises(CatalogError) as refused:
        parse_catalog({"prices": bad, "aliases": {}})
    assert f"prices[{index}]" in str(refused.value), str(refused.value)


# --- sync_catalog -------------------------------------------------------------------------------------------


async def _price_rows(session: AsyncSession) -> list[tuple[str, str, Decimal, datetime, str, date]]:
    result = await session.execute(
        select(GpuPrice.provider, GpuPrice.gpu_type, GpuPrice.usd_per_gpu_hour, GpuPrice.valid_from,
               GpuPrice.source, GpuPrice.source_date).order_by(GpuPrice.provider, GpuPrice.gpu_type))
    return [tuple(row) for row in result]


async def _count(session: AsyncSession) -> int:
    return (await session.execute(select(func.count()).select_from(GpuPrice))).scalar_one()


async def test_sync_of_the_bundled_catalog_twice_keeps_one_row_per_entry(session: AsyncSession) -> None:
    entries = len(_bundled()["prices"])
    catalog = parse_catalog(_bundled())

    await sync_catalog(session, catalog)
    await sync_catalog(session, catalog)
    await session.flush()

    assert await _count(session) == entries


async def test_sync_is_idempotent_and_takes_a_changed_amount(session: AsyncSession) -> None:
    await session.execute(delete(GpuPrice))
    small = parse_catalog({"prices": [_entry(), _entry(gpu_type="A10G", usd_per_gpu_hour="0.75")]})

    await sync_catalog(session, small)
    await sync_catalog(session, small)

    first = await _price_rows(session)
    assert first == [
        ("testcloud", "A10G", Decimal("0.75"), EPOCH, "https://example.test/prices", date(2026, 1, 1)),
        ("testcloud", "H100", Decimal("2.50"), EPOCH, "https://example.test/prices", date(2026, 1, 1)),
    ]

    changed = parse_catalog({"prices": [_entry(usd_per_gpu_hour="2.123456"),
                                        _entry(gpu_type="A10G", usd_per_gpu_hour="0.75")]})
    await sync_catalog(session, changed)

    assert await _count(session) == 2
    assert await _price_rows(session) == [
        ("testcloud", "A10G", Decimal("0.75"), EPOCH, "https://example.test/prices", date(2026, 1, 1)),
        ("testcloud", "H100", Decimal("2.123456"), EPOCH, "https://example.test/prices", date(2026, 1, 1)),
    ]


# --- the lifespan -------------------------------------------------------------------------------------------


async def test_start_loads_the_bundled_catalog_into_an_empty_table(fresh_db: ScratchDatabase) -> None:
    async with engine_for(fresh_db.url) as engine:
        async with engine.begin() as connection:
            await connection.execute(text("DELETE FROM gpu_prices"))
        async with create_sessionmaker(engine)() as s:
            assert await _count(s) == 0

    settings = make_settings(fresh_db.url)
    async with serve(settings) as (app, client):
        await create_user(app.state.sessionmaker, settings, "reader@example.test", role=Role.member)
        headers = await bearer(client, "reader@example.test")
        response = await client.get(PRICES, headers=headers)

    assert response.status_code == 200, response.text
    assert len(response.json()["prices"]) == len(_bundled()["prices"])
    async with engine_for(fresh_db.url) as engine, create_sessionmaker(engine)() as s:
        assert await _count(s) == len(_bundled()["prices"])


async def test_ingest_loads_the_bundled_catalog_when_the_price_table_is_empty(
        client: httpx.AsyncClient, admin_headers: dict[str, str], session: AsyncSession) -> None:
    # As after a start while the database was down: no prices stored. An estimate must not turn into "unpriced".
    await session.execute(delete(GpuPrice))
    await session.commit()
    report = await ingest_ok(client, admin_headers, [job("after-empty", provider="aws", gpu_type="H100", cost=None)])
    assert report["created"] == 1
    stored = (await session.execute(select(Job.cost_source, Job.cost).where(Job.job_id == "after-empty"))).one()
    # 8 × H100 × 4 h at the bundled aws H100 price.
    aws_h100 = next(Decimal(p["usd_per_gpu_hour"]) for p in json.loads(CATALOG_FILE.read_text())["prices"]
                    if (p["provider"], p["gpu_type"]) == ("aws", "H100"))
    assert stored == ("estimated", 8 * 4 * aws_h100)
    assert await session.scalar(select(func.count()).select_from(GpuPrice)) == len(
        json.loads(CATALOG_FILE.read_text())["prices"])
