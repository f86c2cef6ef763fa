"""Counting what a transaction did only once it is committed: an ingest whose commit fails (the database went
away: a 503) counts nothing, since its client will send the batch again."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from app.metrics.registry import count_ingest

_PENDING = "jobcost.metrics.ingest_pending"


def _flush(session: Any) -> None:
    pending: Counter[str] | None = session.info.get(_PENDING)
    if pending:
        count_ingest(pending)
        pending.clear()


def _drop(session: Any, transaction: Any) -> None:
    # Any end of the session's outermost transaction: after a commit (counted already by `_flush`), a rollback
    # or a close without commit.
    pending: Counter[str] | None = session.info.get(_PENDING)
    if pending and transaction.parent is None:
        pending.clear()


def count_ingest_on_commit(session: AsyncSession, outcomes: Mapping[str, int]) -> None:
    """Add `outcomes` (an ingest report's counts by outcome) to the metrics when `session` next commits; a
    rollback first forgets them."""
    sync = session.sync_session
    pending: Counter[str] | None = sync.info.get(_PENDING)
    if pending is None:
        pending = sync.info[_PENDING] = Counter()
        event.listen(sync, "after_commit", _flush)
        event.listen(sync, "after_transaction_end", _drop)
    pending.update({k: v for k, v in outcomes.items() if v})
