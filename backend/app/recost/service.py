"""Recosting: re-price the stored jobs a rate card change can touch, in bounded chunks, through the staged write
path of ingest (`app.ingestion.writer`).

`Recoster.run(scopes)` walks the non-billed jobs in scope in `job_id` order, a chunk (`recost_chunk_jobs`, 10,000
jobs by default) at a time. Each chunk is one transaction of its own that
1. takes the job writers' lock (`serialize_job_writers`; an ingest running meanwhile waits, or is waited for),
2. selects the chunk's jobs after the keyset cursor, once, as they are now,
3. loads the rate card, the aliases and the energy coefficients as they are now (`load_rate_card`,
   `load_name_resolver_or_catalog`, `load_coefficients`),
   reads every job's GPU type and provider again from what was sent (`reread_names`: an alias changed since the
   job was ingested applies) and re-costs it with the card,
4. writes the jobs whose content hash changed through `write_chunk`: their rows, snapshots (old out, new in)
   and the rollup deltas, so reports never see a half-recosted job. Unchanged jobs are not written at all, except
   that a job stored with a legacy hash that still matches (`app.ingestion.content_hash`) gets the current form
   of its hash, nothing else (one executemany for the chunk).

Recosting is idempotent: run twice, the second run changes nothing. Ingest takes the same lock before it loads
the rate card, so a job written while a recost runs is costed either by the new card (ingested after the
change) or before the recost's chunk reaches it; either way every job ends priced by the card in force.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.money import gpu_hours, six_places
from app.db.base import utcnow
from app.db.dialect import serialize_job_writers
from app.db.engine import begin_write
from app.db.models.team import team_name_key
from app.db.types import micros_to_usd
from app.energy.overrides import load_coefficients
from app.ingestion.content_hash import matches, upgrade_hashes
from app.ingestion.normalize import reread_names
from app.ingestion.writer import stage_job, write_chunk
from app.metrics.registry import RECOST_JOBS, RECOSTS
from app.pricing.catalog import default_catalog
from app.pricing.scopes import RecostScope
from app.pricing.service import load_name_resolver_or_catalog, load_rate_card
from app.recost.selection import chunk_rows, count_where, in_scope, normalized_job

logger = logging.getLogger("jobcost.recost")

DEFAULT_CHUNK_JOBS = 10_000  # as ingest's chunk (STAGE_ROWS): bench/README.md, recost.py

# Called after each chunk commits with (jobs done, jobs in scope when the recost began).
Progress = Callable[[int, int], Awaitable[None]]


@dataclass(slots=True)
class RecostReport:
    """What a recost did, over the jobs in scope (non-billed jobs only).

    - `jobs_recosted`: jobs whose cost actually changed (their total cost, or whether they are priced at all);
      a job read but left as it was does not count, nor one whose days moved but whose total did not.
    - `jobs_read`: the jobs in scope, read (changed or not).
    - `cost_before` / `cost_after`: USD, the summed cost of the jobs in scope before and after (unpriced jobs
      count 0), so `cost_after - cost_before` is what the change did to the books.
    - `unpriced_gpu_hours_before` / `_after`: GPU-hours of the jobs in scope that had / have no price.
    Amounts are kept as exact integers (micro-USD, GPU-microseconds); the properties give USD and GPU-hours
    (6 places, as everywhere on the wire).
    """

    jobs_recosted: int = 0
    jobs_read: int = 0
    cost_before_micros: int = 0
    cost_after_micros: int = 0
    unpriced_gpu_us_before: int = 0
    unpriced_gpu_us_after: int = 0
    # Energy (mWh) and carbon (mg CO2e) of the jobs read, before (as stored; 0 where never computed) and after.
    energy_before_mwh: int = 0
    energy_after_mwh: int = 0
    co2e_before_mg: int = 0
    co2e_after_mg: int = 0
    jobs_rewritten: int = 0  # jobs written: cost, energy figures or days changed

    @property
    def cost_before(self) -> Decimal:
        return micros_to_usd(self.cost_before_micros)

    @property
    def cost_after(self) -> Decimal:
        return micros_to_usd(self.cost_after_micros)

    @property
    def unpriced_gpu_hours_before(self) -> Decimal:
        return gpu_hours(self.unpriced_gpu_us_before)

    @property
    def unpriced_gpu_hours_after(self) -> Decimal:
        return gpu_hours(self.unpriced_gpu_us_after)

    def as_dict(self) -> dict[str, object]:
        """The report as JSON-ready values: USD and GPU-hours as 6-place decimal strings."""
        return {"jobs_recosted": self.jobs_recosted, "jobs_read": self.jobs_read,
                "cost_before": six_places(self.cost_before), "cost_after": six_places(self.cost_after),
                "unpriced_gpu_hours_before": six_places(self.unpriced_gpu_hours_before),
                "unpriced_gpu_hours_after": six_places(self.unpriced_gpu_hours_after)}


@dataclass(slots=True)
class _Cursor:
    after: str | None = None
    done: bool = False
    report: RecostReport = field(default_factory=RecostReport)


class Recoster:
    """Runs recosts against the database of `sessionmaker`, each chunk in a session (and transaction) of its own.
    `chunk_jobs` bounds a chunk's jobs, so its transaction, its memory and the lock it holds stay bounded."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], *,
                 chunk_jobs: int = DEFAULT_CHUNK_JOBS) -> None:
        if chunk_jobs < 1:
            raise ValueError("chunk_jobs must be at least 1")
        self.sessionmaker = sessionmaker
        self.chunk_jobs = chunk_jobs

    async def count(self, scopes: Sequence[RecostScope] | ColumnElement[bool]) -> int:
        """How many non-billed jobs `scopes` name now (a recost reads these, and jobs ingested meanwhile), or how
        many jobs a condition (`selection.energy_condition`) selects."""
        if not isinstance(scopes, ColumnElement) and not scopes:
            return 0
        async with self.sessionmaker() as session:
            return int((await session.execute(count_where(_condition(scopes)))).scalar_one())

    async def run(self, scopes: Sequence[RecostScope] | ColumnElement[bool], *, total: int | None = None,
                  progress: Progress | None = None) -> RecostReport:
        """Recost every non-billed job that `scopes` name (or every job a condition selects: an energy recompute,
        `selection.energy_condition`), chunk by chunk; returns the report. `total` (jobs in scope, counted if not
        given) is only passed on to `progress`, called after each chunk commits. A database error propagates;
        the chunks committed before it stay (running again finishes the work)."""
        cursor = _Cursor()
        if not isinstance(scopes, ColumnElement) and not scopes:
            return cursor.report
        condition = _condition(scopes)
        if progress is not None and total is None:
            total = await self.count(condition)
        while not cursor.done:
            read, recosted = cursor.report.jobs_read, cursor.report.jobs_recosted
            async with self.sessionmaker() as session:
                await self._chunk(session, condition, cursor)
                await session.commit()
            RECOST_JOBS.labels(result="read").inc(cursor.report.jobs_read - read)
            RECOST_JOBS.labels(result="recosted").inc(cursor.report.jobs_recosted - recosted)
            if progress is not None:
                await progress(cursor.report.jobs_read, max(total or 0, cursor.report.jobs_read))
        report = cursor.report
        RECOSTS.inc()
        logger.info("recost: read=%d recosted=%d cost_before_micros=%d cost_after_micros=%d", report.jobs_read,
                    report.jobs_recosted, report.cost_before_micros, report.cost_after_micros)
        return report

    async def _chunk(self, session: AsyncSession, condition: ColumnElement[bool], cursor: _Cursor) -> None:
        await begin_write(session)
        await serialize_job_writers(session)
        rows = (await session.execute(chunk_rows(condition, cursor.after, self.chunk_jobs))).all()
        if len(rows) < self.chunk_jobs:
            cursor.done = True
        if not rows:
            return
        cursor.after = rows[-1].job_id
        rate_card = await load_rate_card(session)
        names = await load_name_resolver_or_catalog(session, default_catalog())
        coefficients = await load_coefficients(session)
        report = cursor.report
        changed = []
        upgrades: list[tuple[str, str, str]] = []
        team_ids = {}
        for row in rows:
            staged = stage_job(reread_names(normalized_job(row), names), rate_card, coefficients)
            before, after = row.cost_micros, staged.costing.cost_micros
            report.jobs_read += 1
            report.cost_before_micros += before or 0
            report.cost_after_micros += after or 0
            report.unpriced_gpu_us_before += row.gpu_us if before is None else 0
            report.unpriced_gpu_us_after += staged.costing.gpu_us if after is None else 0
            if before != after:
                report.jobs_recosted += 1
            report.energy_before_mwh += row.energy_used_mwh or 0
            report.energy_after_mwh += staged.energy.energy_mwh
            report.co2e_before_mg += row.co2e_mg or 0
            report.co2e_after_mg += staged.energy.co2e_mg
            if staged.content_hash == row.content_hash:
                continue
            if matches(staged, row.content_hash):  # stored with a legacy hash, and unchanged
                upgrades.append((row.job_id, row.content_hash, staged.content_hash))
            else:
                report.jobs_rewritten += 1
                changed.append(staged)
                team_ids[team_name_key(row.team_name)] = row.team_id
        await upgrade_hashes(session, upgrades)
        if changed:
            await write_chunk(session, changed, team_ids, utcnow(), create=False, legacy=False)


def _condition(scopes: Sequence[RecostScope] | ColumnElement[bool]) -> ColumnElement[bool]:
    return scopes if isinstance(scopes, ColumnElement) else in_scope(scopes)
