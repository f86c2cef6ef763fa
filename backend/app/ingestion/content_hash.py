"""The content hash of a staged job, versioned: what `jobs.content_hash` holds and how an older form still matches.

A job's content hash covers everything an ingest writes for it: the normalised record (team by its key, the
resolved `observed_at`), its costing and its energy figures. Equal hashes mean re-ingesting (or recosting) it
changes nothing, so the write path (`app.ingestion.writer.write_chunk`, `app.recost.service`) skips it.

Two forms exist (`jobs.content_hash` is `String(64)`):

- current, `b2:` + 60 hex digits: BLAKE2b (30-byte digest) of the UTF-8 `repr` of `hash_document`, a tuple whose
  leaves are only `str`, `int` (never `bool`) and `None`. Such a `repr` is unambiguous (`ast.literal_eval` reads it
  back to the very same tuple, types included), so two different documents never share an encoding.
- legacy, 64 hex digits, no prefix: SHA-256 of a sorted JSON dump (`legacy_content_hash`), written before the
  current form existed. A job stored with it is still matched: `upgrade_legacy_hashes` finds the chunk's stored
  jobs with a legacy hash (one query), recomputes the legacy hash of those only, and where it equals the stored one
  the stored hash is replaced by the current form (nothing else of the row, not even `updated_at`), so the merge
  that follows sees the job unchanged.

Whether a database may still hold legacy hashes is remembered per engine (`note_legacy_hashes`, run once when
the service starts): an engine known to hold none skips the lookup; an engine never checked (the CLI, tests)
always looks, which is safe. The current form has 63 characters and the legacy one 64, so `length(content_hash)
= 64` tells them apart in SQL; anything else (an empty hash left by a migration that asks for recomputation) is
simply different from every staged hash.
"""

from __future__ import annotations

import hashlib
import json
import weakref
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.db.models import Job
from app.db.models.team import team_name_key
from app.energy.figures import JobEnergy
from app.ingestion.costing import JobCosting, to_epoch_ms
from app.ingestion.normalize import NormalizedJob

if TYPE_CHECKING:
    from app.ingestion.writer import StagedJob

HASH_PREFIX = "b2:"
_DIGEST_BYTES = 30  # 60 hex digits + the 3-character prefix: 63, within String(64) and never a legacy length
LEGACY_LENGTH = 64  # 64 hex digits of SHA-256, no prefix
_JOBS = Job.__table__

# Per engine (the sync Engine behind an AsyncEngine): True when it was checked and held no legacy hash.
_legacy_free: weakref.WeakKeyDictionary[Engine, bool] = weakref.WeakKeyDictionary()


def _ms(value: datetime | None) -> int | None:
    return None if value is None else to_epoch_ms(value)


def hash_document(job: NormalizedJob, costing: JobCosting, energy: JobEnergy) -> tuple[Any, ...]:
    """The facts the current hash covers, as a tuple of `str`/`int`/`None` and nested such tuples, each fact at a
    fixed place: the record's fields (timestamps as epoch milliseconds, labels as sorted (key, value) pairs, the
    measured energy, utilisation and region as sent), the costing (cost, source, GPU-µs, and per day its
    proleptic ordinal, run ms, GPU-µs, cost) and the energy figures (totals, source, idle figures, defaults, and
    per day its six figures)."""
    return (
        job.job_id, team_name_key(job.team), job.status.value, job.model_name, job.gpu_type, job.gpu_milli,
        job.provider, job.user_name, _ms(job.submitted_at), _ms(job.started_at), _ms(job.ended_at),
        _ms(job.observed_at), tuple(sorted(job.labels.items())), job.energy_mwh, job.gpu_util_bp, job.region,
        # A billed cost is the costing's cost with source "billed": hashed once, through the costing.
        costing.cost_micros, costing.source.value, costing.gpu_us,
        tuple((d.day.toordinal(), d.run_ms, d.gpu_us, d.cost_micros) for d in costing.days),
        energy.energy_mwh, energy.co2e_mg, str(energy.source), energy.idle_gpu_us, energy.idle_cost_micros,
        tuple(energy.defaults),
        tuple((d.energy_mwh, d.energy_measured_mwh, d.co2e_mg, d.co2e_measured_mg, d.idle_gpu_us, d.idle_cost_micros)
              for d in energy.days),
    )


def content_hash(job: NormalizedJob, costing: JobCosting, energy: JobEnergy) -> str:
    """The current hash of a staged job: `b2:` + 60 lowercase hex digits (63 characters)."""
    encoded = repr(hash_document(job, costing, energy)).encode("utf-8")
    return HASH_PREFIX + hashlib.blake2b(encoded, digest_size=_DIGEST_BYTES).hexdigest()


def legacy_content_hash(job: NormalizedJob, costing: JobCosting, energy: JobEnergy) -> str:
    """The hash written before the current form: SHA-256 (64 hex digits) of a sorted, compact JSON dump of the same
    facts. Kept only to recognise jobs stored with it; never written."""
    document: list[Any] = [
        job.job_id, team_name_key(job.team), job.status.value, job.model_name, job.gpu_type, job.gpu_milli,
        job.provider, job.user_name, _ms(job.submitted_at), _ms(job.started_at), _ms(job.ended_at),
        _ms(job.observed_at), job.labels,
        costing.cost_micros, costing.source.value, costing.gpu_us,
        [[d.day.isoformat(), d.run_ms, d.gpu_us, d.cost_micros] for d in costing.days],
        [energy.energy_mwh, energy.co2e_mg, energy.source, energy.idle_gpu_us, energy.idle_cost_micros,
         list(energy.defaults),
         [[d.energy_mwh, d.energy_measured_mwh, d.co2e_mg, d.co2e_measured_mg, d.idle_gpu_us, d.idle_cost_micros]
          for d in energy.days]],
    ]
    if job.energy_mwh is not None or job.gpu_util_bp is not None or job.region is not None:
        document.append({"energy_mwh": job.energy_mwh, "gpu_util_bp": job.gpu_util_bp, "region": job.region})
    encoded = json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def is_legacy(stored: str | None) -> bool:
    """Whether a stored hash has the legacy form (64 characters, no prefix)."""
    return stored is not None and len(stored) == LEGACY_LENGTH


def matches(staged: StagedJob, stored: str | None) -> bool:
    """Whether the stored hash `stored` says `staged` is unchanged: equal to its current hash, or a legacy hash
    equal to its legacy one (computed only then)."""
    if staged.content_hash == stored:
        return True
    return is_legacy(stored) and legacy_content_hash(staged.job, staged.costing, staged.energy) == stored


async def note_legacy_hashes(engine: AsyncEngine) -> bool:
    """Check once whether the database of `engine` holds any legacy hash (one `SELECT … LIMIT 1`, a scan of `jobs`
    when it holds none) and remember the answer for the engine's life: when it holds none, `write_chunk` skips its
    lookup. Returns True when some legacy hash was found. New hashes are always current, so "none" stays true
    (a process of an older version writing meanwhile would only make its jobs look changed once)."""
    async with engine.connect() as connection:
        found = (await connection.execute(
            select(_JOBS.c.id).where(func.length(_JOBS.c.content_hash) == LEGACY_LENGTH).limit(1))).first()
    _legacy_free[engine.sync_engine] = found is None
    return found is not None


def forget_legacy_check(engine: AsyncEngine) -> None:
    """Forget what `note_legacy_hashes` found for `engine`: its writes look up legacy hashes again (tests)."""
    _legacy_free.pop(engine.sync_engine, None)


async def upgrade_hashes(session: AsyncSession, upgrades: Sequence[tuple[str, str, str]]) -> None:
    """Replace stored legacy hashes by their current form: `upgrades` holds (job_id, stored legacy hash, current
    hash), in `job_id` order (the order rows are locked in). One executemany; a row whose hash is no longer the
    stored one is left alone. Nothing else of the row changes."""
    if not upgrades:
        return
    statement = (update(_JOBS).where(_JOBS.c.job_id == bindparam("u_job_id"),
                                     _JOBS.c.content_hash == bindparam("u_stored"))
                 # updated_at set to itself: the column's onupdate would otherwise stamp the upgrade as a change.
                 .values(content_hash=bindparam("u_current"), updated_at=_JOBS.c.updated_at))
    connection = await session.connection()
    await connection.execute(statement, [{"u_job_id": job_id, "u_stored": stored, "u_current": current}
                                         for job_id, stored, current in upgrades])


async def upgrade_legacy_hashes(session: AsyncSession, chunk: Sequence[StagedJob], staged_job_id: Any) -> int:
    """For a chunk whose job rows are staged (`staged_job_id`: the staging table's `job_id` column): unless the
    engine is known to hold no legacy hash, find the chunk's stored jobs with a legacy hash (one query) and upgrade
    those whose legacy hash matches (`upgrade_hashes`), so the merge sees them unchanged. Returns how many were
    upgraded. Called under the job writers' lock, before the merge."""
    connection = await session.connection()
    if _legacy_free.get(connection.sync_engine):
        return 0
    stored = (await connection.execute(
        select(_JOBS.c.job_id, _JOBS.c.content_hash).join_from(_JOBS, staged_job_id.table,
                                                               staged_job_id == _JOBS.c.job_id)
        .where(func.length(_JOBS.c.content_hash) == LEGACY_LENGTH))).all()
    if not stored:
        return 0
    by_id = {p.job.job_id: p for p in chunk}
    upgrades = sorted((job_id, old, by_id[job_id].content_hash) for job_id, old in stored
                      if matches(by_id[job_id], old))
    await upgrade_hashes(session, upgrades)
    return len(upgrades)
