"""`RecostRunner`: what callers of a rate card change use to reprice history, short work inline, long work as an
operation run by a task of this process.

Callers (the admin price routes, `POST /api/v1/admin/prices/recost`) commit their change first, then call
`after_change(scopes, created_by=...)` (or `recost_all`). When the jobs in scope are at most
`recost_inline_max_jobs`, the recost runs at once and the outcome carries its `report`; past it, the outcome
carries a running `operation` (answer 202 with `Location: /api/v1/operations/{id}`) whose result is the same
report when it ends.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.db.models import Operation
from app.pricing.scopes import RecostScope
from app.recost.operations import OperationStore, OperationTasks, run_operation
from app.recost.service import Recoster, RecostReport

RECOST_KIND = "recost"
ENERGY_RECOMPUTE_KIND = "energy-recompute"


@dataclass(frozen=True, slots=True)
class RecostOutcome:
    """The answer to a change: `report` when the recost ran inline, `operation` when it runs as one (exactly one
    of the two is set)."""

    report: RecostReport | None = None
    operation: Operation | None = None


def since_scope(since: date | datetime | None) -> RecostScope:
    """Every non-billed job whose run reaches `since` (a UTC day: from its midnight; None: all of them)."""
    if isinstance(since, datetime):
        start: datetime | None = since.astimezone(UTC)
    elif since is not None:
        start = datetime.combine(since, time(), tzinfo=UTC)
    else:
        start = None
    return RecostScope(provider=None, gpu_type=None, start=start)


class RecostRunner:
    """Reprices the jobs a change names (see the module docstring). `tasks` holds this process's operation tasks
    (the app's, so shutdown can cancel them)."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings,
                 tasks: OperationTasks) -> None:
        self.recoster = Recoster(sessionmaker, chunk_jobs=settings.recost_chunk_jobs)
        self.store = OperationStore(sessionmaker, stale_after=timedelta(seconds=settings.operation_stale_seconds))
        self.inline_max = settings.recost_inline_max_jobs
        self.tasks = tasks

    async def after_change(self, scopes: Sequence[RecostScope] | ColumnElement[bool], *, created_by: str | None,
                           kind: str = RECOST_KIND) -> RecostOutcome:
        """Recost the non-billed jobs `scopes` name, with the rate card as committed now (or, for an energy
        coefficient change, the jobs a condition of `selection.energy_condition` selects, `kind`
        `ENERGY_RECOMPUTE_KIND`). Inline (the outcome's `report`) up to `recost_inline_max_jobs` jobs in scope,
        else as an operation of `kind` started here (the outcome's `operation`, `running`). Database errors of
        an inline recost propagate; the chunks done stay done."""
        total = await self.recoster.count(scopes)
        if total <= self.inline_max:
            return RecostOutcome(report=await self.recoster.run(scopes, total=total))
        operation = await self.store.start(kind, created_by=created_by, total=total)

        async def work(progress: Callable[[int, int], Awaitable[None]]) -> dict[str, Any]:
            report = await self.recoster.run(scopes, total=total, progress=progress)
            return report.as_dict()

        self.tasks.spawn(run_operation(self.store, operation, work))
        return RecostOutcome(operation=operation)

    async def recost_all(self, since: date | datetime | None = None, *, created_by: str | None = None
                         ) -> RecostOutcome:
        """Recost every non-billed job whose run reaches `since` (all of them when None), as `after_change`."""
        return await self.after_change([since_scope(since)], created_by=created_by)
