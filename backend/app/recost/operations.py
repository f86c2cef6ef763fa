"""Operations: long work run by a task of the server process, stored in `operations` so that any request (and
any server process) can poll it with `GET /api/v1/operations/{id}`.

A task renews its operation's `heartbeat_at` while it lives (every `stale_after / 4`). An operation still
`running` whose heartbeat is older than `stale_after` was left by a process that died or was stopped: it is
marked `failed` at start-up (`fail_abandoned`) and whenever it is read. Work run this way must be idempotent
(a recost is), so a failed operation is simply started again.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.base import utcnow
from app.db.engine import begin_write
from app.db.models import Operation, OperationState
from app.metrics.registry import OPERATIONS

logger = logging.getLogger("jobcost.operations")

ABANDONED = "the server process running this operation stopped before it finished; start it again"


class OperationStore:
    """Create, advance, finish and read `operations` rows, each write in a short transaction of its own."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], *, stale_after: timedelta) -> None:
        self.sessionmaker = sessionmaker
        self.stale_after = stale_after

    async def _update(self, operation_id: uuid.UUID, values: dict[str, Any], *,
                      only_running: bool = True) -> None:
        async with self.sessionmaker() as session:
            await begin_write(session)
            statement = update(Operation).where(Operation.id == operation_id)
            if only_running:
                statement = statement.where(Operation.state == OperationState.running)
            await session.execute(statement.values(values))
            await session.commit()

    async def start(self, kind: str, *, created_by: str | None, total: int) -> Operation:
        """A new `running` operation of `kind`, committed, with progress `{"done": 0, "total": total}`."""
        now = utcnow()
        operation = Operation(id=uuid.uuid4(), kind=kind, state=OperationState.running,
                              progress={"done": 0, "total": total}, created_by=created_by, created_at=now,
                              heartbeat_at=now)
        async with self.sessionmaker() as session:
            await begin_write(session)
            session.add(operation)
            await session.commit()
        OPERATIONS.labels(state=OperationState.running.value).inc()
        return operation

    async def advance(self, operation_id: uuid.UUID, done: int, total: int) -> None:
        """Record progress (and a heartbeat)."""
        await self._update(operation_id, {"progress": {"done": done, "total": total}, "heartbeat_at": utcnow()})

    async def heartbeat(self, operation_id: uuid.UUID) -> None:
        await self._update(operation_id, {"heartbeat_at": utcnow()})

    async def finish(self, operation_id: uuid.UUID, result: dict[str, Any]) -> None:
        """Mark the operation `succeeded` with `result`."""
        now = utcnow()
        await self._update(operation_id, {"state": OperationState.succeeded, "result": result,
                                          "finished_at": now, "heartbeat_at": now})
        OPERATIONS.labels(state=OperationState.succeeded.value).inc()

    async def fail(self, operation_id: uuid.UUID, error: str) -> None:
        """Mark the operation `failed`, `result` being `{"error": error}`."""
        now = utcnow()
        await self._update(operation_id, {"state": OperationState.failed, "result": {"error": error},
                                          "finished_at": now, "heartbeat_at": now})
        OPERATIONS.labels(state=OperationState.failed.value).inc()

    async def fail_abandoned(self) -> int:
        """Mark `failed` every running operation whose heartbeat is stale; returns how many."""
        now = utcnow()
        async with self.sessionmaker() as session:
            await begin_write(session)
            result = await session.execute(
                update(Operation)
                .where(Operation.state == OperationState.running, Operation.heartbeat_at < now - self.stale_after)
                .values(state=OperationState.failed, result={"error": ABANDONED}, finished_at=now))
            await session.commit()
        count = int(getattr(result, "rowcount", 0) or 0)
        OPERATIONS.labels(state=OperationState.failed.value).inc(count)
        if count:
            logger.warning("operations: %d left running by a stopped process marked failed", count)
        return count

    async def get(self, operation_id: uuid.UUID) -> Operation | None:
        """The operation, None when there is none; a running one with a stale heartbeat is marked failed first."""
        async with self.sessionmaker() as session:
            operation = await session.get(Operation, operation_id)
        if operation is None:
            return None
        if operation.state is OperationState.running and operation.heartbeat_at < utcnow() - self.stale_after:
            await self.fail_abandoned()
            async with self.sessionmaker() as session:
                operation = await session.get(Operation, operation_id)
        return operation


class OperationTasks:
    """The tasks of this process's running operations: kept referenced while they run, cancelled at shutdown."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def wait(self) -> None:
        """Wait for every running task (tests, and a clean shutdown that may wait)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def cancel_all(self) -> None:
        """Cancel every running task and wait for each to record its failure."""
        for task in list(self._tasks):
            task.cancel()
        await self.wait()


async def run_operation(store: OperationStore, operation: Operation,
                        work: Callable[[Callable[[int, int], Awaitable[None]]], Awaitable[dict[str, Any]]]) -> None:
    """Run `work(progress)` as `operation`: heartbeats while it runs, its progress recorded, its result (or its
    error) stored at the end. Never raises: a failure is the operation's `failed` state."""
    operation_id = operation.id

    async def beat() -> None:
        interval = store.stale_after.total_seconds() / 4
        while True:
            await asyncio.sleep(interval)
            try:
                await store.heartbeat(operation_id)
            except Exception:  # a missed beat is not the work's failure; the next one may pass
                logger.warning("operation %s: heartbeat not recorded", operation_id, exc_info=True)

    async def progress(done: int, total: int) -> None:
        await store.advance(operation_id, done, total)

    beating = asyncio.get_running_loop().create_task(beat())
    try:
        result = await work(progress)
    except asyncio.CancelledError:
        await _record_failure(store, operation_id, "the server stopped during this operation; start it again")
        raise
    except Exception as exc:
        logger.exception("operation %s (%s) failed", operation_id, operation.kind)
        await _record_failure(store, operation_id, f"{type(exc).__name__}: the operation failed; start it again")
    else:
        await store.finish(operation_id, result)
    finally:
        beating.cancel()


async def _record_failure(store: OperationStore, operation_id: uuid.UUID, error: str) -> None:
    try:
        await store.fail(operation_id, error)
    except Exception:  # the database is gone: start-up or the next read marks it failed once its heartbeat is stale
        logger.warning("operation %s: failure not recorded", operation_id, exc_info=True)
