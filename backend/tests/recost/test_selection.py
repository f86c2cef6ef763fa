"""The SQL selection of a recost (`app.recost.selection`) names the same jobs as `RecostScope.matches`, on both
databases, over jobs and scopes built to sit on every edge: MIG slices and look-alikes, names with LIKE's
wildcards, runs ending or starting exactly at a boundary, zero-length runs, running and never-started jobs."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models import Job
from app.pricing.scopes import RecostScope
from app.recost.selection import count_in_scope, in_scope
from tests.ingestion.conftest import job
from tests.recost.conftest import ingest

T = [datetime(2025, 1, d, h, tzinfo=UTC) for d, h in ((1, 0), (1, 12), (2, 0), (3, 0))]
TYPES = ["A100-80GB", "A100-80GB-MIG-3G.40GB", "A100-80GBX", "A100-80GB-MIG-", "GPU_1", "GPUX1", "T4"]
PROVIDERS = ["aws", "onprem", "on_prem"]
RUNS: list[tuple[str | None, str | None, str]] = [
    ("2025-01-01T00:00:00Z", "2025-01-01T12:00:00Z", "done"),   # ends exactly at T1
    ("2025-01-01T12:00:00Z", "2025-01-02T00:00:00Z", "done"),   # starts at T1, ends at T2
    ("2025-01-01T12:00:00Z", "2025-01-01T12:00:00Z", "done"),   # zero length at T1
    ("2024-12-31T00:00:00Z", "2025-01-05T00:00:00Z", "done"),   # around everything
    ("2025-01-02T06:00:00Z", "2025-01-02T07:00:00Z", "running"),  # observed at its end
    (None, None, "queued"),
]


def _records() -> list[dict[str, Any]]:
    records = []
    for n, (gpu_type, provider, (start, end, kind)) in enumerate(itertools.product(TYPES, PROVIDERS, RUNS)):
        fields: dict[str, Any] = {"gpu_type": gpu_type, "provider": provider, "cost": None}
        if kind == "queued":
            fields.update(status="queued", started_at=None, ended_at=None)
        elif kind == "running":
            fields.update(status="running", started_at=start, ended_at=None, observed_at=end)
        else:
            fields.update(started_at=start, ended_at=end)
        records.append(job(f"sel-{n:03d}", **fields))
    records.append(job("sel-billed", gpu_type="A100-80GB", provider="aws"))  # billed: never selected
    records.append(job("sel-no-type", gpu_type=None, provider="aws", cost=None))
    return records


def _scopes() -> list[RecostScope]:
    bounds = [None, *T]
    scopes = [RecostScope(p, g, s, e) for p in (None, "onprem", "on_prem") for g in (None, "A100-80GB", "GPU_1",
              "A100-80GB-MIG-3G.40GB") for s in bounds for e in bounds if s is None or e is None or s < e]
    return scopes


async def test_sql_selection_agrees_with_matches(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await ingest(sessionmaker, _records())
    async with sessionmaker() as session:
        jobs = (await session.execute(select(Job))).scalars().all()
        assert len(jobs) == len(TYPES) * len(PROVIDERS) * len(RUNS) + 2
        # Names as stored (the ingest canonicalises some spellings): the comparison is on what is stored.
        for scope in _scopes():
            expected = sorted(j.job_id for j in jobs if j.billed_cost is None and scope.matches(
                j.provider, j.gpu_type, j.started_at, j.ended_at or j.observed_at))
            found = (await session.execute(select(Job.job_id).where(in_scope([scope])).order_by(Job.job_id)))
            assert sorted(found.scalars()) == expected, scope
        # Not vacuous: a parent's scope reaches its slices, and stored names kept their edge spellings.
        stored_types = {j.gpu_type for j in jobs}
        assert {"A100-80GB-MIG-3G.40GB", "GPU_1", "GPUX1"} <= stored_types, stored_types
        parent = (await session.execute(select(Job.gpu_type).where(in_scope([RecostScope(None, "A100-80GB")]))))
        assert "A100-80GB-MIG-3G.40GB" in set(parent.scalars())
        # Several scopes: their union, counted once.
        pair = [RecostScope("onprem", "A100-80GB"), RecostScope(None, "A100-80GB", T[1], T[2])]
        union = {j.job_id for j in jobs if j.billed_cost is None and any(s.matches(
            j.provider, j.gpu_type, j.started_at, j.ended_at or j.observed_at) for s in pair)}
        assert (await session.execute(count_in_scope(pair))).scalar_one() == len(union)
