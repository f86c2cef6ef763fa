"""Issue 15, part 7: `jobcost serve --workers 2` on a database whose price catalog is not loaded yet: both workers
start at once (schema check, catalog sync, abandoned operations) without error, both serve ingests, and every job
sent is stored once, the catalog once and its change log written once."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import text

from app.db import migrate
from app.db.engine import create_sessionmaker
from app.db.models import Role
from app.pricing.catalog import default_catalog
from tests.conftest import make_settings
from tests.databases import ScratchDatabase, engine_for, in_thread
from tests.factories import bearer, create_user
from tests.faults.service import JOBCOST, Service
from tests.ingestion.conftest import INGEST, job

pytestmark = pytest.mark.skipif(not JOBCOST.exists(), reason=f"no {JOBCOST} (install the project: make install)")

CLIENTS = 6  # keep-alive connections opened at once, each served by the worker that accepted it
BATCH = 25
MAX_ROUNDS = 10


@pytest.fixture
def empty_db(backend: str, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201 - a generator fixture
    """Migrated, but without the price catalog the service's start loads."""
    db = ScratchDatabase(backend, tmp_path_factory.mktemp("workers")).create(migrated=False)
    in_thread(lambda: migrate.upgrade(db.url))
    yield db
    db.drop()


async def test_two_workers_start_together_and_both_ingest(empty_db: ScratchDatabase) -> None:
    settings = make_settings(empty_db.url)
    async with engine_for(settings) as engine:
        await create_user(create_sessionmaker(engine), settings, "ops@example.test", role=Role.admin)

    sent: list[str] = []
    served: dict[int, int] = {}
    async with Service(empty_db.url, workers=2) as service:
        workers = service.worker_pids()
        assert len(workers) == 2, service.log_tail()
        async with httpx.AsyncClient(base_url=service.base_url, timeout=60) as signin:
            headers = await bearer(signin, "ops@example.test")
        for round_ in range(MAX_ROUNDS):  # until both workers served a client (the kernel picks who accepts)
            clients = [httpx.AsyncClient(base_url=service.base_url, timeout=60) for _ in range(CLIENTS)]
            try:
                # Connect one client at a time, a moment apart: asyncio accepts every pending connection at each
                # wake-up, so six opened at once all go to whichever worker woke first, round after round.
                for client in clients:
                    assert (await client.get("/health")).status_code == 200
                    await asyncio.sleep(0.05)
                ids = [[f"w{round_}-{c}-{n}" for n in range(BATCH)] for c in range(CLIENTS)]
                responses = await asyncio.gather(*(
                    client.post(INGEST, json={"jobs": [job(i) for i in batch]}, headers=headers)
                    for client, batch in zip(clients, ids, strict=True)))
                for response, batch in zip(responses, ids, strict=True):
                    assert response.status_code == 200, response.text
                    assert response.json()["created"] == BATCH, response.text
                    sent.extend(batch)
                for pid, count in service.connections_by_worker().items():
                    served[pid] = served.get(pid, 0) + count
            finally:
                for client in clients:
                    await client.aclose()
            if all(served.get(pid) for pid in workers):
                break
        assert not service.unhandled_errors(), service.unhandled_errors()[:5]
    print(f"\nconnections served by worker pid: {served}, {len(sent)} jobs ingested")
    assert set(served) == workers and all(served.values()), f"connections served by worker: {served}"

    catalog = default_catalog()
    async with engine_for(settings) as engine, engine.connect() as conn:
        stored = [row[0] for row in await conn.execute(text("SELECT job_id FROM jobs"))]
        rates = await conn.scalar(text("SELECT count(*) FROM gpu_prices WHERE origin = 'catalog'"))
        aliases = await conn.scalar(text("SELECT count(*) FROM name_aliases WHERE origin = 'catalog'"))
        changes = await conn.scalar(text("SELECT count(*) FROM price_changes WHERE actor = 'catalog'"))
    assert sorted(stored) == sorted(sent)  # every job once
    expected_aliases = len(catalog.gpu_type_aliases) + len(catalog.provider_aliases)
    assert (rates, aliases) == (len(catalog.prices), expected_aliases)
    assert changes == len(catalog.prices) + expected_aliases  # each row logged once, by the first worker
