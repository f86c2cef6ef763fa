"""`POST /api/v1/admin/prices/recost` and `GET /api/v1/operations/{id}`: a short recost answers its report at
once; a long one (past `recost_inline_max_jobs`) answers 202 with the operation to poll, whose result is the same
report; operations left running by a stopped process are marked failed. Both databases."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.engine import create_engine, create_sessionmaker
from app.db.models import Operation, OperationState, Role
from app.main import create_app
from app.recost.operations import ABANDONED, OperationStore
from tests.analytics.test_rollups import assert_rollups_match
from tests.api.problems import assert_problem
from tests.conftest import make_settings
from tests.databases import ScratchDatabase
from tests.factories import bearer, create_user
from tests.ingestion.conftest import add_price, job
from tests.recost.conftest import ingest, stored

RECOST = "/api/v1/admin/prices/recost"
OPERATIONS = "/api/v1/operations"


def _jobs(count: int) -> list[dict[str, Any]]:
    # 1 GPU × 2 h each, on 2026-01-14 (the second one hour later, and so on)
    return [job(f"api-{n:03d}", gpu_type="T4", gpu_count=1, cost=None, started_at=f"2026-01-14T{n % 20:02d}:00:00Z",
                ended_at=f"2026-01-14T{n % 20 + 2:02d}:00:00Z") for n in range(count)]


async def test_a_short_recost_answers_its_report(client: httpx.AsyncClient, admin_headers: dict[str, str],
                                                 sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await ingest(sessionmaker, _jobs(3))
    await add_price(sessionmaker, "T4", "0.50")
    response = await client.post(RECOST, json={"since": "2026-01-01"}, headers=admin_headers)
    assert response.status_code == 200, response.text
    # 3 jobs × 1 GPU × 2 h × $0.50
    assert response.json() == {"operation": None, "recost": {
        "jobs_recosted": 3, "jobs_read": 3, "cost_before": "0.000000", "cost_after": "3.000000",
        "unpriced_gpu_hours_before": "6.000000", "unpriced_gpu_hours_after": "0.000000"}}
    # Jobs before `since` are not read; without a body, every job is.
    assert (await client.post(RECOST, json={"since": "2026-02-01"}, headers=admin_headers)).json()["recost"][
        "jobs_read"] == 0
    assert (await client.post(RECOST, headers=admin_headers)).json()["recost"]["jobs_read"] == 3
    await assert_rollups_match(sessionmaker)


@pytest.mark.parametrize("body", [{"since": "yesterday"}, {"since": "2026-01-01", "extra": 1}, {"since": 5}])
async def test_a_bad_body_is_422(client: httpx.AsyncClient, admin_headers: dict[str, str], body: Any) -> None:
    response = await client.post(RECOST, json=body, headers=admin_headers)
    assert_problem(response, 422)


async def test_operations_are_admin_only_and_404_when_unknown(client: httpx.AsyncClient,
                                                              admin_headers: dict[str, str],
                                                              member_headers: dict[str, str]) -> None:
    unknown = f"{OPERATIONS}/{uuid.uuid4()}"
    assert_problem(await client.get(unknown, headers=admin_headers), 404)
    assert_problem(await client.get(unknown, headers=member_headers), 403)
    assert_problem(await client.post(RECOST, headers=member_headers), 403)
    assert (await client.get(unknown)).status_code == 401


@pytest.fixture
async def committed(fresh_db: ScratchDatabase) -> AsyncIterator[tuple[Any, async_sessionmaker[AsyncSession]]]:
    """An app on a database of the test's own, with real transactions (an operation's task runs beside the
    requests), where any recost of more than 2 jobs becomes an operation, in chunks of 2 jobs."""
    settings = make_settings(fresh_db.url, recost_inline_max_jobs=2, recost_chunk_jobs=2,
                             operation_stale_seconds=60)
    engine = create_engine(settings)
    sessionmaker = create_sessionmaker(engine)
    app = create_app(settings)
    app.state.sessionmaker = sessionmaker
    try:
        yield app, sessionmaker
    finally:
        await engine.dispose()


async def test_a_long_recost_is_an_operation_to_poll(committed: tuple[Any, async_sessionmaker[AsyncSession]]
                                                     ) -> None:
    app, sessionmaker = committed
    settings = app.state.settings
    await create_user(sessionmaker, settings, "root@example.test", role=Role.admin)
    await ingest(sessionmaker, _jobs(5))
    await add_price(sessionmaker, "T4", "0.50")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        headers = await bearer(client, "root@example.test")
        response = await client.post(RECOST, headers=headers)
        assert response.status_code == 202, response.text
        location = response.headers["Location"]
        body = response.json()
        assert body["recost"] is None and location == f"{OPERATIONS}/{body['operation']['id']}"
        assert body["operation"]["state"] == "running" and body["operation"]["progress"] == {"done": 0, "total": 5}
        await app.state.operation_tasks.wait()
        polled = await client.get(location, headers=headers)
    assert polled.status_code == 200, polled.text
    operation = polled.json()
    assert operation["state"] == "succeeded" and operation["error"] is None
    assert operation["kind"] == "recost" and operation["created_by"] == "root@example.test"
    assert operation["progress"] == {"done": 5, "total": 5} and operation["finished_at"] is not None
    assert operation["result"] == {
        "jobs_recosted": 5, "jobs_read": 5, "cost_before": "0.000000", "cost_after": "5.000000",
        "unpriced_gpu_hours_before": "10.000000", "unpriced_gpu_hours_after": "0.000000"}
    assert all(row["cost"] == 1_000_000 for row in (await stored(sessionmaker)).values())
    await assert_rollups_match(sessionmaker)


async def test_operations_of_a_stopped_process_are_marked_failed(
        committed: tuple[Any, async_sessionmaker[AsyncSession]]) -> None:
    app, sessionmaker = committed
    settings = app.state.settings
    await create_user(sessionmaker, settings, "root@example.test", role=Role.admin)
    store = OperationStore(sessionmaker, stale_after=timedelta(seconds=60))
    fresh = await store.start("recost", created_by="root@example.test", total=10)
    stale = await store.start("recost", created_by="root@example.test", total=10)
    read_later = await store.start("recost", created_by="root@example.test", total=10)
    async with sessionmaker() as session:
        long_ago = datetime.now(UTC) - timedelta(minutes=5)
        await session.execute(update(Operation).where(Operation.id.in_([stale.id, read_later.id]))
                              .values(heartbeat_at=long_ago))
        await session.commit()
    # Read over the API before any start-up: the stale one is failed on the spot.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        headers = await bearer(client, "root@example.test")
        read = (await client.get(f"{OPERATIONS}/{read_later.id}", headers=headers)).json()
    assert read["state"] == "failed" and read["error"] == ABANDONED and read["result"] is None
    # Reading one failed every stale one; start-up does the same, and leaves the fresh one running.
    await store.fail_abandoned()
    async with sessionmaker() as session:
        states = {op.id: op.state for op in (await session.execute(
            Operation.__table__.select())).all()}
    assert states == {fresh.id: OperationState.running, stale.id: OperationState.failed,
                      read_later.id: OperationState.failed}


async def test_shutdown_fails_the_running_operation(committed: tuple[Any, async_sessionmaker[AsyncSession]]
                                                    ) -> None:
    from app.recost.operations import OperationTasks, run_operation

    _, sessionmaker = committed
    store = OperationStore(sessionmaker, stale_after=timedelta(seconds=60))
    operation = await store.start("recost", created_by=None, total=1)
    tasks = OperationTasks()
    started = asyncio.Event()

    async def forever(progress: Any) -> dict[str, Any]:
        started.set()
        await asyncio.sleep(3600)
        return {}

    tasks.spawn(run_operation(store, operation, forever))
    await started.wait()
    await tasks.cancel_all()
    read = await store.get(operation.id)
    assert read is not None and read.state is OperationState.failed and "stopped" in read.result["error"]
