"""Recomputing stored jobs' energy figures after a change of coefficients (or of the code that makes them), through
the recost machinery (`app.recost.service.Recoster`): the jobs a change names are read in `job_id` order, in
chunks, each chunk one transaction under the job writers' lock, staged again with the coefficients in force, and
the ones whose figures changed are written through the one write path (`app.ingestion.writer`): their snapshots
and the rollups change with them. Billed jobs are read too (their energy is estimated like any other's); their
cost never changes. Idempotent: run twice, the second run writes nothing."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.recost.selection import energy_condition
from app.recost.service import Progress, Recoster, RecostReport


async def recompute_energy(sessionmaker: async_sessionmaker[AsyncSession], *, provider: str | None = None,
                           gpu_type: str | None = None, region: str | None = None, missing_only: bool = False,
                           chunk_jobs: int | None = None, progress: Progress | None = None) -> RecostReport:
    """Recompute the figures of the jobs of `provider` / `gpu_type` (and its MIG slices) / `region` (None: any),
    or with `missing_only` of the jobs never computed; returns the recost report (its `energy_*`, `co2e_*` and
    `jobs_rewritten` say what changed)."""
    recoster = Recoster(sessionmaker) if chunk_jobs is None else Recoster(sessionmaker, chunk_jobs=chunk_jobs)
    condition = energy_condition(provider=provider, gpu_type=gpu_type, region=region, missing_only=missing_only)
    return await recoster.run(condition, progress=progress)
