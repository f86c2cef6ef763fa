"""The one staged write path of jobs, cost snapshots and daily rollups: ingest and recost both write through it.

A caller costs and hashes its jobs (`stage_job`), sorts them by `job_id`, and hands them to `write_chunk` a
chunk at a time, inside a transaction that holds the job writers' lock (`app.db.dialect.serialize_job_writers`).
`write_chunk` stages the rows (COPY on PostgreSQL, executemany on SQLite) and merges them with a fixed number of
set-based statements, however many jobs the chunk holds: new jobs are inserted, jobs stored with another content
hash are updated and their snapshots replaced, and the rollups get the difference in the same transaction. A job
whose content hash is unchanged is never written; one stored with a legacy hash that matches counts as unchanged
too, and only its stored hash is replaced by the current form (`app.ingestion.content_hash`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.dialect import insert_for
from app.db.models import CostSnapshot, Job
from app.db.models.daily_cost import NONE_KEY
from app.db.models.team import team_name_key
from app.db.rollups import apply_rollup_delta, stage_leaving_snapshots, staged_snapshots
from app.db.staging import STAGED_JOBS, STAGED_SNAPSHOTS, load_staging, reset_staging
from app.db.types import usd_to_micros
from app.energy.coefficients import Coefficients, default_coefficients
from app.energy.figures import JobEnergy, job_energy
from app.ingestion.content_hash import content_hash, upgrade_legacy_hashes
from app.ingestion.costing import JobCosting, cost_job, to_epoch_ms
from app.ingestion.normalize import NormalizedJob
from app.pricing.service import RateCard

_JOBS = Job.__table__
_SNAPSHOTS = CostSnapshot.__table__
# The job's energy figures (`app/energy/figures.py`), written with its costing.
ENERGY_COLUMNS = ("energy_used_mwh", "co2e_mg", "idle_gpu_us", "idle_cost_micros", "energy_source",
                  "energy_defaults")
# The columns a changed job's row takes from its staged row (its id, job_id and created_at stay).
UPDATED_ON_CHANGE = ("team_id", "user_name", "model_name", "gpu_type", "gpu_milli", "provider", "status",
                     "submitted_at", "started_at", "ended_at", "observed_at", "billed_cost_micros", "cost_micros",
                     "gpu_us", "cost_source", "labels", "energy_mwh", "gpu_util_bp", "region", "content_hash",
                     "updated_at", *ENERGY_COLUMNS)


@dataclass(frozen=True, slots=True)
class StagedJob:
    """A job ready to write: its normalised record, its costing under a rate card, its energy figures under the
    coefficients, and the hash of all three."""

    job: NormalizedJob
    costing: JobCosting
    energy: JobEnergy
    content_hash: str


@dataclass(frozen=True, slots=True)
class ChunkWrite:
    """What `write_chunk` did: jobs `created`, and jobs `updated` (stored with another content hash)."""

    created: int
    updated: int


def stage_job(job: NormalizedJob, rate_card: RateCard, coefficients: Coefficients | None = None) -> StagedJob:
    """`job` costed with the price points `rate_card` gives its (provider, GPU type), its energy figures under
    `coefficients` (None: the shipped file's), and hashed (`app.ingestion.content_hash.content_hash`)."""
    prices = rate_card.points_for(job.provider, job.gpu_type)
    run_end = job.run_end
    costing = cost_job(start_ms=None if job.started_at is None else to_epoch_ms(job.started_at),
                       end_ms=None if run_end is None else to_epoch_ms(run_end), gpu_milli=job.gpu_milli,
                       billed_micros=None if job.billed_cost is None else usd_to_micros(job.billed_cost),
                       prices=prices)
    energy = job_energy(costing.days, cost_micros=costing.cost_micros, measured_mwh=job.energy_mwh,
                        util_bp=job.gpu_util_bp,
                        coefficients=(coefficients or default_coefficients()).for_job(job.provider, job.gpu_type,
                                                                                      job.region))
    return StagedJob(job, costing, energy, content_hash(job, costing, energy))


async def write_chunk(session: AsyncSession, chunk: Sequence[StagedJob], team_ids: dict[str, uuid.UUID],
                      now: datetime, *, create: bool = True, legacy: bool = True) -> ChunkWrite:
    """Write one chunk (sorted by job_id, no id twice) through the staging tables. `team_ids` maps each job's
    team name key to its team's id; `now` is the `created_at`/`updated_at` of the rows written. The caller's
    transaction must hold the job writers' lock (`serialize_job_writers`): the statements below each see the rows
    as they are when they run, so the merges of two writers must not interleave. The session is flushed, never
    committed. `create=False` (a recost: every job of the chunk is stored, and the lock keeps it so) skips the
    insert of new jobs. `legacy=False` (a recost, which compared the stored hashes itself) skips the lookup of
    legacy hashes.

    1. The chunk's job rows are staged (COPY on PostgreSQL, executemany on SQLite), built as tuples straight
       from the staged jobs. Unless the engine is known to hold no legacy hash, the chunk's stored jobs with a
       legacy hash are looked up (one query) and those whose legacy hash matches get the current form
       (`app.ingestion.content_hash.upgrade_legacy_hashes`: one executemany; the rows are otherwise untouched).
    2. New jobs: `INSERT … SELECT … ON CONFLICT (job_id) DO NOTHING RETURNING`.
    3. When some jobs of the chunk were stored already: the stored snapshots of those whose content hash differs
       (changed jobs) are staged as leaving (`sign` -1), then their rows are updated from the staged ones
       (`UPDATE … FROM … RETURNING`).
    4. The new snapshots of created and changed jobs are staged (`sign` +1); the daily rollups get the staged
       snapshots, new ones added and leaving ones subtracted, in one statement per grain.
    5. The changed jobs' old snapshots are deleted, and the new ones inserted. Unchanged jobs are never written,
       not even `updated_at`.
    """
    await reset_staging(session, STAGED_JOBS, STAGED_SNAPSHOTS)
    labels_as_text = (await session.connection()).dialect.name == "postgresql"  # COPY takes json as its text
    proposed = {p.job.job_id: uuid.uuid4() for p in chunk}
    team_of = {p.job.job_id: team_ids[team_name_key(p.job.team)] for p in chunk}
    await load_staging(session, STAGED_JOBS, JOB_ROW_COLUMNS,
                       [job_tuple(p, proposed[p.job.job_id], team_of[p.job.job_id], now, labels_as_text)
                        for p in chunk])
    staged = STAGED_JOBS.c
    if legacy:
        await upgrade_legacy_hashes(session, chunk, staged.job_id)
    columns = [c.name for c in STAGED_JOBS.columns]
    created: Sequence[Any] = ()
    if create:
        new_jobs = (insert_for(session, _JOBS)
                    .from_select(columns, select(*staged).where(true()).order_by(staged.job_id))
                    .on_conflict_do_nothing(index_elements=[_JOBS.c.job_id])
                    .returning(_JOBS.c.id, _JOBS.c.job_id))
        created = (await session.execute(new_jobs)).all()
    changed: Sequence[Any] = ()
    if len(created) < len(chunk):
        differs = (_JOBS.c.job_id == staged.job_id) & (_JOBS.c.content_hash != staged.content_hash)
        await stage_leaving_snapshots(session, select(_JOBS.c.id).where(differs))
        changed = (await session.execute(
            update(_JOBS).where(differs).values({name: staged[name] for name in UPDATED_ON_CHANGE})
            .returning(_JOBS.c.id, _JOBS.c.job_id))).all()
    written = {job_id: pk for pk, job_id in [*created, *changed]}
    snapshots = [row for p in chunk if p.job.job_id in written
                 for row in snapshot_tuples(p, written[p.job.job_id], team_of[p.job.job_id])]
    await load_staging(session, STAGED_SNAPSHOTS, SNAPSHOT_ROW_COLUMNS, snapshots)
    if snapshots or changed:
        await apply_rollup_delta(session, staged_snapshots())
    if changed:
        leaving = select(STAGED_SNAPSHOTS.c.job_pk).where(STAGED_SNAPSHOTS.c.sign < 0)
        await session.execute(delete(CostSnapshot).where(CostSnapshot.job_pk.in_(leaving.scalar_subquery())))
    if snapshots:
        snapshot_columns = [c.name for c in _SNAPSHOTS.columns]
        await session.execute(_SNAPSHOTS.insert().from_select(
            snapshot_columns, select(*(STAGED_SNAPSHOTS.c[name] for name in snapshot_columns))
            .where(STAGED_SNAPSHOTS.c.sign > 0)))
    return ChunkWrite(len(created), len(changed))


# The columns of a staged job row and of a staged snapshot row, in the order of the tuples below.
JOB_ROW_COLUMNS = (
    "id", "job_id", "team_id", "user_name", "model_name", "gpu_type", "gpu_milli", "provider", "status",
    "submitted_at", "started_at", "ended_at", "observed_at", "billed_cost_micros", "cost_micros", "gpu_us",
    "cost_source", "labels", "energy_mwh", "gpu_util_bp", "region", "content_hash", "created_at", "updated_at",
    "energy_used_mwh", "co2e_mg", "idle_gpu_us", "idle_cost_micros", "energy_source", "energy_defaults")
SNAPSHOT_ROW_COLUMNS = (
    "job_pk", "day", "run_ms", "gpu_us", "cost_micros", "first_day", "month", "first_in_month", "sign",
    "team_id", "model_key", "gpu_type_key", "provider_key", "user_key", "status_key",
    "energy_mwh", "energy_measured_mwh", "co2e_mg", "co2e_measured_mg", "idle_gpu_us", "idle_cost_micros",
    "util_gpu_us")


def _labels_text(labels: dict[str, str]) -> str:
    return json.dumps(labels, ensure_ascii=False, separators=(",", ":")) if labels else "{}"


def job_tuple(p: StagedJob, pk: uuid.UUID, team_id: uuid.UUID, now: datetime, labels_as_text: bool) -> tuple[Any, ...]:
    """The `jobs` row of `p` in `JOB_ROW_COLUMNS` (money as micro-USD integers), with id `pk` if it is new;
    labels as JSON text when `labels_as_text` (a COPY), else as the dict."""
    job, costing, energy = p.job, p.costing, p.energy
    billed = job.billed_cost
    return (
        pk, job.job_id, team_id, job.user_name, job.model_name, job.gpu_type, job.gpu_milli, job.provider,
        job.status.value, job.submitted_at, job.started_at, job.ended_at, job.observed_at,
        None if billed is None else usd_to_micros(billed), costing.cost_micros, costing.gpu_us,
        costing.source.value, _labels_text(job.labels) if labels_as_text else job.labels, job.energy_mwh,
        job.gpu_util_bp, job.region, p.content_hash, now, now,
        energy.energy_mwh, energy.co2e_mg, energy.idle_gpu_us, energy.idle_cost_micros, energy.source,
        ",".join(energy.defaults))


def job_row(p: StagedJob, pk: uuid.UUID, team_id: uuid.UUID, now: datetime) -> dict[str, Any]:
    """`job_tuple` as a dict by column name, labels as the dict (for the benchmarks and tests)."""
    return dict(zip(JOB_ROW_COLUMNS, job_tuple(p, pk, team_id, now, False), strict=True))


def snapshot_tuples(p: StagedJob, job_pk: uuid.UUID, team_id: uuid.UUID) -> list[tuple[Any, ...]]:
    """The staged snapshots of one job in `SNAPSHOT_ROW_COLUMNS`: its days, with its rollup keys; its first day,
    and its first day of each month, are flagged (its days come in order)."""
    job = p.job
    keys = (team_id, job.model_name or NONE_KEY, job.gpu_type or NONE_KEY, job.provider or NONE_KEY,
            job.user_name or NONE_KEY, job.status.value)
    rows = []
    month = None
    util_known = job.gpu_util_bp is not None
    first = 1
    for d, e in zip(p.costing.days, p.energy.days, strict=True):
        day = d.day
        day_month = day.replace(day=1)
        rows.append((job_pk, day, d.run_ms, d.gpu_us, d.cost_micros, first, day_month, int(day_month != month), 1,
                     *keys, e.energy_mwh, e.energy_measured_mwh, e.co2e_mg, e.co2e_measured_mg, e.idle_gpu_us,
                     e.idle_cost_micros, d.gpu_us if util_known else 0))
        month = day_month
        first = 0
    return rows


def snapshot_rows(p: StagedJob, job_pk: uuid.UUID, team_id: uuid.UUID) -> list[dict[str, Any]]:
    """`snapshot_tuples` as dicts by column name (for the benchmarks and tests)."""
    return [dict(zip(SNAPSHOT_ROW_COLUMNS, row, strict=True)) for row in snapshot_tuples(p, job_pk, team_id)]
