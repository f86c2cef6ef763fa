"""Ingest as a pipeline: while one chunk of a stream is written, the next is read, validated, costed and hashed.

Writing a chunk (COPY and merges under the job writers' lock, then the commit) is mostly waiting for the database;
preparing one (JSON decoding, validation, costing, the content hash) is pure Python. `prefetched` prepares chunk
N+1 in a task of its own while its caller writes chunk N: one chunk ahead at most, so memory holds two chunks
however long the stream. The preparation yields to the event loop every `YIELD_EVERY` records, so the writer sends
its next statement as soon as the database has answered the last one instead of waiting for a whole chunk's
Python; the database then works while Python does.

A chunk is prepared with the aliases and the rate card the previous chunk was written with. Writing it
(`JobIngestionService.ingest`, handed the prepared chunk in `ahead`) reads both again in the chunk's own
transaction, the rate card under the writers' lock, and validates or costs again what they change, so the outcome
is the one of ingesting the chunk alone.

Errors keep their order: a client gone mid-stream, or a line that cannot be read, surfaces once the chunks before
it are written; an error while writing cancels the chunk being prepared and waits for it to stop (no task
outlives the request).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

from app.ingestion.service import JobIngestionService, PreparedBatch, Validation
from app.ingestion.writer import stage_job

T = TypeVar("T")
U = TypeVar("U")

# Records validated or costed between two yields to the event loop: ~5 ms of Python, the longest the writer's
# next statement waits for the loop.
YIELD_EVERY = 32
_END = object()


async def prepare(service: JobIngestionService, records: Sequence[Any], indexes: Sequence[int] | None,
                  ) -> PreparedBatch:
    """`records` validated with the aliases `service` last wrote with and costed with its last rate card (see
    `PreparedBatch`), yielding to the event loop as it goes; not validated before the service has written once
    (it has no aliases yet), not costed before it has a rate card. Never touches the database."""
    batch = PreparedBatch(records, indexes, service.clock())
    names, rate_card, coefficients = service.names, service.rate_card, service.coefficients
    if names is None:
        return batch
    validation = Validation(batch, names)
    for start in range(0, len(records), YIELD_EVERY):
        validation.run(start, start + YIELD_EVERY)
        await asyncio.sleep(0)
    batch = validation.done()
    if rate_card is not None and coefficients is not None and batch.jobs:
        staged = []
        for start in range(0, len(batch.jobs), YIELD_EVERY):
            staged.extend(stage_job(job, rate_card, coefficients) for job in batch.jobs[start:start + YIELD_EVERY])
            await asyncio.sleep(0)
        batch.rate_card, batch.coefficients, batch.staged = rate_card, coefficients, staged
    return batch


async def prefetched(source: AsyncIterator[T], prepare_item: Callable[[T], Awaitable[U]],
                     ) -> AsyncIterator[tuple[T, U]]:
    """Yield `(item, await prepare_item(item))` for each item of `source`, the next item read and prepared in a
    task while the caller handles the current one. An error of `source` or `prepare_item` is raised where its
    item would have been yielded. Closing the generator (use `contextlib.aclosing`) cancels the task and waits
    for it."""

    async def step() -> Any:
        try:
            item = await anext(source)
        except StopAsyncIteration:
            return _END
        return item, await prepare_item(item)

    task = asyncio.ensure_future(step())
    try:
        while (result := await task) is not _END:
            task = asyncio.ensure_future(step())
            yield result
    finally:
        await _stop(task)
        aclose = getattr(source, "aclose", None)
        if aclose is not None:
            await aclose()


async def _stop(task: asyncio.Future[Any]) -> None:
    # asyncio.wait never raises the task's own error; a cancellation of the caller still propagates.
    if not task.done():
        task.cancel()
        await asyncio.wait([task])
    if not task.cancelled():
        task.exception()  # retrieved: an error superseded by the caller's is not logged as never retrieved
