"""The ingest pipeline (`app/ingestion/pipeline.py`): the next chunk prepared while the current one is written,
one chunk ahead at most, errors in order, no task left behind, and work done ahead redone when the aliases or the
rate card it used are not the ones the chunk's own transaction reads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import aclosing
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from app.db.models import Job
from app.energy.overrides import load_coefficients
from app.ingestion import ndjson, pipeline
from app.ingestion import service as service_module
from app.ingestion.service import JobIngestionService
from app.pricing.service import RateCard, load_name_resolver_or_catalog
from tests.ingestion.conftest import INGEST, add_price, job
from tests.ingestion.test_ndjson_api import NDJSON, body_of, line


def _pipeline_tasks() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if "prefetched" in t.get_coro().__qualname__]


async def _items(n: int, fail_after: int | None = None) -> AsyncIterator[int]:
    for i in range(n):
        if i == fail_after:
            raise ValueError(f"item {i} cannot be read")
        yield i


async def test_items_come_in_order_each_prepared_at_most_one_ahead() -> None:
    prepared: list[int] = []
    seen: list[tuple[int, int, list[int]]] = []

    async def prepare(i: int) -> int:
        prepared.append(i)
        return i * 10

    async with aclosing(pipeline.prefetched(_items(4), prepare)) as items:
        async for item, result in items:
            await asyncio.sleep(0.01)  # the caller's write: the next item is prepared meanwhile
            seen.append((item, result, list(prepared)))

    assert [(item, result) for item, result, _ in seen] == [(0, 0), (1, 10), (2, 20), (3, 30)]
    # While item k is handled, k+1 has been prepared, and never k+2.
    assert [p for _, _, p in seen] == [[0, 1], [0, 1, 2], [0, 1, 2, 3], [0, 1, 2, 3]]


async def test_an_error_of_the_source_comes_after_the_items_before_it() -> None:
    handled: list[int] = []

    async def prepare(i: int) -> int:
        return i

    with pytest.raises(ValueError, match="item 2 cannot be read"):
        async with aclosing(pipeline.prefetched(_items(5, fail_after=2), prepare)) as items:
            async for item, _ in items:
                handled.append(item)
    assert handled == [0, 1]
    assert _pipeline_tasks() == []


async def test_leaving_midway_cancels_the_preparation_and_waits_for_it() -> None:
    started = asyncio.Event()
    cancelled: list[int] = []

    async def prepare(i: int) -> int:
        if i == 1:
            started.set()
            try:
                await asyncio.Event().wait()  # never set: a preparation still running
            except asyncio.CancelledError:
                cancelled.append(i)
                raise
        return i

    with pytest.raises(RuntimeError, match="write failed"):
        async with aclosing(pipeline.prefetched(_items(3), prepare)) as items:
            async for _ in items:
                await started.wait()
                raise RuntimeError("write failed")
    assert cancelled == [1]
    assert _pipeline_tasks() == []


async def test_a_cancelled_request_leaves_no_task() -> None:
    async def prepare(i: int) -> int:
        await asyncio.sleep(0.01)
        return i

    async def consume() -> None:
        async with aclosing(pipeline.prefetched(_items(1000), prepare)) as items:
            async for _ in items:
                await asyncio.sleep(0.01)

    consumer = asyncio.ensure_future(consume())
    await asyncio.sleep(0.05)
    consumer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await consumer
    assert _pipeline_tasks() == []


async def test_a_chunk_costed_ahead_with_another_rate_card_is_costed_again(sessionmaker) -> None:
    await add_price(sessionmaker, "H100", "2.00")
    records = [job("ahead-1", cost=None)]  # 8 GPUs for 4 hours, estimated from the card
    async with sessionmaker() as session:
        service = JobIngestionService(session)
        service.names = await load_name_resolver_or_catalog(session, service.catalog)
        service.rate_card = RateCard([])  # a card without rates: costed ahead, the job is unpriced
        service.coefficients = await load_coefficients(session)
        batch = await pipeline.prepare(service, records, None)
        assert batch.staged is not None and batch.staged[0].costing.cost_micros is None

        service.ahead = batch
        report = await service.ingest(records)
        await session.commit()

    assert report.created == 1
    async with sessionmaker() as session:
        stored = (await session.execute(select(Job).where(Job.job_id == "ahead-1"))).scalar_one()
    assert stored.cost == Decimal("64.00")  # 8 × 4 GPU-hours × $2.00, the card read under the lock


async def test_a_chunk_validated_ahead_with_other_aliases_is_validated_again(sessionmaker) -> None:
    records = [job("ahead-2", gpu_type="h100-sxm")]
    async with sessionmaker() as session:
        service = JobIngestionService(session)
        real = await load_name_resolver_or_catalog(session, service.catalog)
        service.names = type(real)({}, {})  # no aliases: the spelling would be kept as sent
        batch = await pipeline.prepare(service, records, None)
        service.ahead = batch
        await service.ingest(records)
        await session.commit()

    async with sessionmaker() as session:
        stored = (await session.execute(select(Job).where(Job.job_id == "ahead-2"))).scalar_one()
    assert stored.gpu_type == real.canonical_gpu_type("h100-sxm")


async def test_a_database_error_mid_stream_keeps_the_chunks_before_and_leaves_no_task(
        client, admin_headers, sessionmaker, monkeypatch) -> None:
    monkeypatch.setattr(ndjson, "CHUNK_LINES", 2)
    original = service_module.write_chunk
    calls = 0

    async def failing_second(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise OperationalError("INSERT …", {}, ConnectionError("server closed the connection"))
        return await original(*args, **kwargs)

    monkeypatch.setattr(service_module, "write_chunk", failing_second)
    body = body_of(*(line(job(f"dbe-{n}")) for n in range(1, 7)))

    response = await client.post(INGEST, content=body, headers={**admin_headers, **NDJSON})

    assert response.status_code == 503, response.text
    async with sessionmaker() as session:
        stored = set((await session.execute(select(Job.job_id).where(Job.job_id.like("dbe-%")))).scalars())
    assert stored == {"dbe-1", "dbe-2"}  # chunk 1 committed; chunk 2 rolled back whole; chunk 3 never written
    assert _pipeline_tasks() == []
