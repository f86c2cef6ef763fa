"""`JobIngestionService`: the one way jobs get in (and out), whatever the entry point.

A batch is validated record by record (`normalize.py`), deduplicated by `job_id` (the last valid copy wins), its
teams found or created, every job costed (`costing.py`), and then written in `job_id` order, in chunks, with one
`INSERT … ON CONFLICT (job_id) DO UPDATE … WHERE content_hash differs … RETURNING id` per chunk: never
select-then-insert, so concurrent batches cannot race, and an identical record writes nothing. A changed job's
cost snapshots are replaced in the same transaction. The service flushes only; the caller's session commits.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import JobNotFoundError
from app.db.base import utcnow
from app.db.dialect import insert_for, serialize_job_writers
from app.db.models import CostSnapshot, Job
from app.db.models.daily_cost import NONE_KEY
from app.db.models.team import team_name_key
from app.db.rollups import apply_rollup_delta, arriving_snapshots, leaving_snapshots
from app.db.staging import STAGED_JOBS, STAGED_SNAPSHOTS, load_staging, reset_staging
from app.db.types import usd_to_micros
from app.ingestion.costing import JobCosting, cost_job, to_epoch_ms
from app.ingestion.normalize import FieldError, NormalizedJob, normalize_record, stored_job_id
from app.ingestion.schemas import IngestError, IngestReport
from app.pricing.catalog import PriceCatalog, default_catalog
from app.pricing.service import RateCard, load_rate_card_or_catalog
from app.teams.service import find_or_create_teams

logger = logging.getLogger("jobcost.ingestion")

# Jobs staged and merged together: a whole JSON batch (at most 10,000) in one go. The staged rows travel by COPY
# or executemany, never as bound parameters of one statement, so the 32,766-parameter limit does not apply.
STAGE_ROWS = 10_000
# Error entries listed in one report; past it they are counted in `errors_omitted` (a batch of 10,000 records with
# many bad fields each would otherwise answer with millions of entries).
MAX_REPORTED_ERRORS = 1000
_JOBS = Job.__table__
_SNAPSHOTS = CostSnapshot.__table__
_UPDATED_ON_CHANGE = ("team_id", "user_name", "model_name", "gpu_type", "gpu_milli", "provider", "status",
                      "submitted_at", "started_at", "ended_at", "observed_at", "billed_cost_micros", "cost_micros",
                      "gpu_us", "cost_source", "labels", "content_hash", "updated_at")


@dataclass(frozen=True, slots=True)
class _Prepared:
    job: NormalizedJob
    costing: JobCosting
    content_hash: str


def _ms(value: datetime | None) -> int | None:
    return None if value is None else to_epoch_ms(value)


def content_hash(job: NormalizedJob, costing: JobCosting) -> str:
    """SHA-256 of everything an ingest writes for `job`: the normalised record (team by its key, the resolved
    `observed_at`) and its costing. Equal hashes mean re-ingesting changes nothing; a new price in the catalog
    changes the costing and so the hash."""
    document = [
        job.job_id, team_name_key(job.team), job.status.value, job.model_name, job.gpu_type, job.gpu_milli,
        job.provider, job.user_name, _ms(job.submitted_at), _ms(job.started_at), _ms(job.ended_at),
        _ms(job.observed_at), job.labels,
        # A billed cost is the costing's cost with source "billed": hashed once, through the costing.
        costing.cost_micros, costing.source.value, costing.gpu_us,
        [[d.day.isoformat(), d.run_ms, d.gpu_us, d.cost_micros] for d in costing.days],
    ]
    encoded = json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def _record_job_id(raw: Any) -> str | None:
    """The record's job_id to echo in an error: a string cut to 255 characters, lone surrogates (which cannot be
    encoded as UTF-8 JSON) replaced by U+FFFD."""
    if isinstance(raw, dict) and isinstance(raw.get("job_id"), str):
        return raw["job_id"][:255].encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return None


class JobIngestionService:
    """Ingest batches of job records and delete jobs. `catalog` gives the provider and GPU aliases (the bundled
    catalog by default); prices come from the `gpu_prices` table. `clock` is the time of ingest."""

    def __init__(self, session: AsyncSession, *, catalog: PriceCatalog | None = None,
                 clock: Any = utcnow) -> None:
        self.session = session
        self.catalog = catalog or default_catalog()
        self.clock = clock

    async def ingest(self, records: Sequence[Any], *, indexes: Sequence[int] | None = None) -> IngestReport:
        """Validate, cost and upsert `records` (dicts as decoded from JSON, numbers as `Decimal` or `int`).
        `indexes` gives the position each record is reported under in `errors` (default: its 0-based index in
        `records`; an NDJSON body passes 1-based line numbers).

        Returns the report: `received`, then `created`/`updated`/`unchanged` for the jobs written, `superseded`
        for earlier valid copies of a `job_id` in the batch, `failed` for records refused (each reason in
        `errors` with the record's index, `job_id` and field), `teams_created`. The good records are stored
        whatever the bad ones did. Database errors propagate (the caller's session rolls back the batch).
        """
        now = self.clock()
        errors: list[IngestError] = []
        omitted = 0
        winners: dict[str, tuple[int, NormalizedJob]] = {}
        superseded = failed = 0
        for index, raw in enumerate(records):
            outcome = normalize_record(raw, now=now, catalog=self.catalog)
            if isinstance(outcome, list):
                failed += 1
                room = max(0, MAX_REPORTED_ERRORS - len(errors))
                shown = index if indexes is None else indexes[index]
                errors.extend(self._errors(shown, raw, outcome[:room]))
                omitted += len(outcome) - min(room, len(outcome))
                continue
            if outcome.job_id in winners:
                superseded += 1
            winners[outcome.job_id] = (index, outcome)

        created = updated = unchanged = teams_created = 0
        if winners:
            jobs = [job for _, job in sorted(winners.values(), key=lambda item: item[0])]
            teams, teams_created = await find_or_create_teams(self.session, (job.team for job in jobs))
            rate_card = await load_rate_card_or_catalog(self.session, self.catalog)
            team_ids = {key: team.id for key, team in teams.items()}
            created, updated = await self._upsert(sorted(jobs, key=lambda j: j.job_id), rate_card, team_ids, now)
            unchanged = len(jobs) - created - updated

        report = IngestReport(received=len(records), created=created, updated=updated, unchanged=unchanged,
                              superseded=superseded, failed=failed, teams_created=teams_created, errors=errors,
                              errors_omitted=omitted)
        self._log(report)
        return report

    async def delete_job(self, job_id: str) -> None:
        """Delete the job with external id `job_id` (trimmed, as ids are on ingest) and its cost snapshots, and take
        its snapshots out of the daily rollups. Raises JobNotFoundError (404).

        The job row is locked first (the order an ingest takes job, rollups, snapshots in, so a delete racing an
        ingest of the same job waits instead of deadlocking); its snapshots go with it through the foreign key's
        ON DELETE CASCADE."""
        stored = stored_job_id(job_id)
        if stored is None:
            raise JobNotFoundError(job_id)
        await serialize_job_writers(self.session)
        target = select(Job.id).where(Job.job_id == stored)
        if (await self.session.execute(target.with_for_update())).first() is None:
            raise JobNotFoundError(stored)
        await apply_rollup_delta(self.session, leaving_snapshots(target))
        await self.session.execute(delete(Job).where(Job.job_id == stored))

    @staticmethod
    def _errors(index: int, raw: Any, reasons: list[FieldError]) -> list[IngestError]:
        job_id = _record_job_id(raw)
        return [IngestError(index=index, job_id=job_id, field=r.field, message=r.message) for r in reasons]

    @staticmethod
    def _prepare(job: NormalizedJob, rate_card: RateCard) -> _Prepared:
        prices = rate_card.points_for(job.provider, job.gpu_type)
        costing = cost_job(start_ms=_ms(job.started_at), end_ms=_ms(job.run_end), gpu_milli=job.gpu_milli,
                           billed_micros=None if job.billed_cost is None else usd_to_micros(job.billed_cost),
                           prices=prices)
        return _Prepared(job, costing, content_hash(job, costing))

    async def _upsert(self, jobs: list[NormalizedJob], rate_card: RateCard, team_ids: dict[str, uuid.UUID],
                      now: datetime) -> tuple[int, int]:
        # Costed chunk by chunk, so memory holds one chunk's snapshots however long the runs are.
        created = updated = 0
        for start in range(0, len(jobs), STAGE_ROWS):
            chunk = [self._prepare(job, rate_card) for job in jobs[start:start + STAGE_ROWS]]
            chunk_created, chunk_updated = await self._write_chunk(chunk, team_ids, now)
            created += chunk_created
            updated += chunk_updated
        return created, updated

    async def _write_chunk(self, chunk: list[_Prepared], team_ids: dict[str, uuid.UUID],
                           now: datetime) -> tuple[int, int]:
        """Write one chunk (sorted by job_id, no id twice) through the staging tables; returns (created, updated).

        0. The transaction takes the job writers' lock (`serialize_job_writers`): the statements below each see the
           rows as they are when they run, so the merges of two batches must not interleave.
        1. The chunk's job rows are staged (COPY on PostgreSQL, executemany on SQLite).
        2. New jobs: `INSERT … SELECT … ON CONFLICT (job_id) DO NOTHING RETURNING`.
        3. Changed jobs (stored, with another content hash) are selected and locked, in job_id order.
        4. The new snapshots of created and changed jobs are staged; the daily rollups get the new snapshots and
           lose the changed jobs' old ones in one delta per grain.
        5. The changed jobs' old snapshots are deleted and their rows updated from the staged ones (`UPDATE … FROM`).
        6. The staged snapshots are inserted. Unchanged jobs are never written, not even `updated_at`.
        """
        session = self.session
        await serialize_job_writers(session)
        await reset_staging(session, STAGED_JOBS, STAGED_SNAPSHOTS)
        proposed = {p.job.job_id: uuid.uuid4() for p in chunk}
        team_of = {p.job.job_id: team_ids[team_name_key(p.job.team)] for p in chunk}
        await load_staging(session, STAGED_JOBS,
                           [self._job_row(p, proposed[p.job.job_id], team_of[p.job.job_id], now) for p in chunk])
        staged = STAGED_JOBS.c
        columns = [c.name for c in STAGED_JOBS.columns]
        new_jobs = (insert_for(session, _JOBS)
                    .from_select(columns, select(*staged).where(true()).order_by(staged.job_id))
                    .on_conflict_do_nothing(index_elements=[_JOBS.c.job_id])
                    .returning(_JOBS.c.id, _JOBS.c.job_id))
        created = (await session.execute(new_jobs)).all()
        differs = (_JOBS.c.job_id == staged.job_id) & (_JOBS.c.content_hash != staged.content_hash)
        changed = (await session.execute(
            select(_JOBS.c.id, _JOBS.c.job_id).where(differs).order_by(_JOBS.c.job_id).with_for_update(of=_JOBS)
        )).all()
        written = {job_id: pk for pk, job_id in [*created, *changed]}
        snapshots = [row for p in chunk if p.job.job_id in written
                     for row in self._snapshot_rows(p, written[p.job.job_id], team_of[p.job.job_id])]
        await load_staging(session, STAGED_SNAPSHOTS, snapshots)
        changed_ids = select(_JOBS.c.id).where(differs)
        deltas = [leaving_snapshots(changed_ids)] if changed else []
        if snapshots:
            deltas.append(arriving_snapshots())
        if deltas:
            await apply_rollup_delta(session, *deltas)
        if changed:
            await session.execute(delete(CostSnapshot).where(
                CostSnapshot.job_pk.in_(changed_ids.correlate(None).scalar_subquery())))
            await session.execute(update(_JOBS).where(differs).values(
                {name: staged[name] for name in _UPDATED_ON_CHANGE}))
        if snapshots:
            snapshot_columns = [c.name for c in _SNAPSHOTS.columns]
            await session.execute(_SNAPSHOTS.insert().from_select(
                snapshot_columns, select(*(STAGED_SNAPSHOTS.c[name] for name in snapshot_columns))))
        return len(created), len(changed)

    @staticmethod
    def _job_row(p: _Prepared, pk: uuid.UUID, team_id: uuid.UUID, now: datetime) -> dict[str, Any]:
        job, costing = p.job, p.costing
        return {
            "id": pk, "job_id": job.job_id, "team_id": team_id, "user_name": job.user_name,
            "model_name": job.model_name, "gpu_type": job.gpu_type, "gpu_milli": job.gpu_milli,
            "provider": job.provider, "status": job.status.value, "submitted_at": job.submitted_at,
            "started_at": job.started_at, "ended_at": job.ended_at, "observed_at": job.observed_at,
            "billed_cost_micros": None if job.billed_cost is None else usd_to_micros(job.billed_cost),
            "cost_micros": costing.cost_micros, "gpu_us": costing.gpu_us, "cost_source": costing.source.value,
            "labels": job.labels, "content_hash": p.content_hash, "created_at": now, "updated_at": now,
        }

    @staticmethod
    def _snapshot_rows(p: _Prepared, job_pk: uuid.UUID, team_id: uuid.UUID) -> list[dict[str, Any]]:
        """The staged snapshots of one job: its days, with its rollup keys; its first day, and its first day of
        each month, are flagged (its days come in order)."""
        job = p.job
        keys = {"team_id": team_id, "model_key": job.model_name or NONE_KEY,
                "gpu_type_key": job.gpu_type or NONE_KEY, "provider_key": job.provider or NONE_KEY,
                "user_key": job.user_name or NONE_KEY, "status_key": job.status.value}
        rows = []
        month = None
        for i, d in enumerate(p.costing.days):
            day_month = d.day.replace(day=1)
            rows.append({"job_pk": job_pk, "day": d.day, "run_ms": d.run_ms, "gpu_us": d.gpu_us,
                         "cost_micros": d.cost_micros, "first_day": int(i == 0), "month": day_month,
                         "first_in_month": int(day_month != month), **keys})
            month = day_month
        return rows

    @staticmethod
    def _log(report: IngestReport) -> None:
        # Counts and field names only: no job ids, user names or values.
        logger.info("ingest: received=%d created=%d updated=%d unchanged=%d superseded=%d failed=%d "
                    "teams_created=%d", report.received, report.created, report.updated, report.unchanged,
                    report.superseded, report.failed, report.teams_created)
        if report.failed:
            fields = Counter(e.field or "(record)" for e in report.errors)
            logger.warning("ingest refused %d records; reasons by field: %s", report.failed,
                           ", ".join(f"{name}×{n}" for name, n in fields.most_common(10)))

