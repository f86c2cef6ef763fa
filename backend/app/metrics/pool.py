"""The database pool's figures for /metrics, from SQLAlchemy's pool events and counters.

SQLAlchemy's queue pool says how many connections are checked out and how far past its size it has opened
(`overflow()`); it does not say how many requests are waiting for one, so waiting is measured where it ends
badly: `jobcost_db_pool_timeouts_total` (counted by the 503 handler). SQLite's pools have no overflow: its gauge
stays 0 there, while connections in use are counted the same way on both databases.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from app.metrics.registry import DB_POOL_IN_USE, DB_POOL_MAX_OVERFLOW, DB_POOL_OVERFLOW, DB_POOL_SIZE


def _overflow(pool: Any) -> int:
    overflow = getattr(pool, "overflow", None)
    return max(0, int(overflow())) if callable(overflow) else 0


def _limits(pool: Any) -> tuple[int, int]:
    """(size, max overflow) of a queue pool (both databases use one); (0, 0) for pools without such limits.
    The queue pool has no public reader of its max overflow: `_max_overflow` has held it since SQLAlchemy 0.x."""
    size, overflow = getattr(pool, "size", None), getattr(pool, "overflow", None)
    if not callable(size) or not callable(overflow):
        return 0, 0
    return int(size()), max(0, int(getattr(pool, "_max_overflow", 0) or 0))


def instrument_pool(engine: AsyncEngine) -> None:
    """Keep the pool gauges of this process current for `engine` (call once per engine, at start-up)."""
    pool = engine.sync_engine.pool
    size, overflow_limit = _limits(pool)
    DB_POOL_SIZE.inc(size)
    DB_POOL_MAX_OVERFLOW.inc(overflow_limit)

    @event.listens_for(pool, "checkout")
    def _checkout(*_: Any) -> None:
        DB_POOL_IN_USE.inc()
        DB_POOL_OVERFLOW.set(_overflow(pool))

    @event.listens_for(pool, "checkin")
    def _checkin(*_: Any) -> None:
        DB_POOL_IN_USE.dec()
        DB_POOL_OVERFLOW.set(_overflow(pool))


def release_pool(engine: AsyncEngine) -> None:
    """Take `engine`'s pool out of the gauges (its engine is being disposed)."""
    size, overflow_limit = _limits(engine.sync_engine.pool)
    DB_POOL_SIZE.dec(size)
    DB_POOL_MAX_OVERFLOW.dec(overflow_limit)
    DB_POOL_OVERFLOW.set(0)
