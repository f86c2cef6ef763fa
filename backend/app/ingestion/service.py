"""`JobIngestionService`: the one way jobs get in (and out), whatever the entry point.

A batch is validated record by record (`normalize.py`), deduplicated by `job_id` (the last valid copy wins), its
teams found or created, every job costed (`costing.py`), and then written in `job_id` order, in chunks, through
the staged write path that recosting uses too (`writer.py`): set-based merges under the job writers' lock, so
concurrent batches cannot race, and an identical record writes nothing. A changed job's cost snapshots are
replaced in the same transaction. The service flushes only; the caller's session commits.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import JobNotFoundError
from app.db.base import utcnow
from app.db.dialect import serialize_job_writers
from app.db.models import Job
from app.db.rollups import apply_rollup_delta, leaving_snapshots
from app.energy.coefficients import Coefficients
from app.energy.overrides import load_coefficients
from app.ingestion.normalize import FieldError, NormalizedJob, normalize_record, stored_job_id
from app.ingestion.schemas import IngestError, IngestReport
from app.ingestion.writer import StagedJob, stage_job, write_chunk
from app.metrics.commits import count_ingest_on_commit
from app.metrics.registry import INGEST_OUTCOMES
from app.pricing.aliases import NameResolver
from app.pricing.catalog import PriceCatalog, default_catalog
from app.pricing.service import RateCard, load_name_resolver_or_catalog, load_rate_card_or_catalog
from app.teams.service import find_or_create_teams

logger = logging.getLogger("jobcost.ingestion")

# Jobs staged and merged together: a whole JSON batch (at most 10,000) in one go. The staged rows travel by COPY
# or executemany, never as bound parameters of one statement, so the 32,766-parameter limit does not apply.
STAGE_ROWS = 10_000
# Error entries listed in one report; past it they are counted in `errors_omitted` (a batch of 10,000 records with
# many bad fields each would otherwise answer with millions of entries).
MAX_REPORTED_ERRORS = 1000


def _record_job_id(raw: Any) -> str | None:
    """The record's job_id to echo in an error: a string cut to 255 characters, lone surrogates (which cannot be
    encoded as UTF-8 JSON) replaced by U+FFFD."""
    if isinstance(raw, dict) and isinstance(raw.get("job_id"), str):
        return raw["job_id"][:255].encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return None


@dataclass(slots=True)
class PreparedBatch:
    """A batch with the Python half of its ingest done and none of the database half: its records validated with
    `names`, deduplicated (`jobs`, the winners, in `job_id` order), and, when a rate card was at hand, costed and
    hashed with it (`staged`, in the same order). `write` checks `names` and `rate_card` against the ones the
    batch's own transaction reads, and redoes what they change."""

    records: Sequence[Any]
    indexes: Sequence[int] | None
    now: datetime
    names: NameResolver | None = None
    jobs: list[NormalizedJob] = field(default_factory=list)
    superseded: int = 0
    failed: int = 0
    errors: list[IngestError] = field(default_factory=list)
    omitted: int = 0
    rate_card: RateCard | None = None
    coefficients: Coefficients | None = None
    staged: list[StagedJob] | None = None


class Validation:
    """Validates a batch's records a slice at a time (so a caller may yield between slices) into a PreparedBatch."""

    def __init__(self, batch: PreparedBatch, names: NameResolver) -> None:
        self.batch = batch
        self.names = names
        self.winners: dict[str, tuple[int, NormalizedJob]] = {}

    def run(self, start: int, stop: int) -> None:
        batch, winners = self.batch, self.winners
        indexes = batch.indexes
        for index in range(start, min(stop, len(batch.records))):
            raw = batch.records[index]
            outcome = normalize_record(raw, now=batch.now, catalog=self.names)
            if isinstance(outcome, list):
                batch.failed += 1
                room = max(0, MAX_REPORTED_ERRORS - len(batch.errors))
                shown = index if indexes is None else indexes[index]
                batch.errors.extend(_errors(shown, raw, outcome[:room]))
                batch.omitted += len(outcome) - min(room, len(outcome))
                continue
            if outcome.job_id in winners:
                batch.superseded += 1
            winners[outcome.job_id] = (index, outcome)

    def done(self) -> PreparedBatch:
        """The batch, its winners in `job_id` order (for a job sent twice, the last valid copy)."""
        self.batch.names = self.names
        self.batch.jobs = sorted((job for _, job in self.winners.values()), key=lambda j: j.job_id)
        return self.batch


def _errors(index: int, raw: Any, reasons: list[FieldError]) -> list[IngestError]:
    job_id = _record_job_id(raw)
    return [IngestError(index=index, job_id=job_id, field=r.field, message=r.message) for r in reasons]


def validate(records: Sequence[Any], indexes: Sequence[int] | None, *, now: datetime,
             names: NameResolver) -> PreparedBatch:
    """`records` validated with `names` at time of ingest `now` and deduplicated (see `PreparedBatch`)."""
    validation = Validation(PreparedBatch(records, indexes, now), names)
    validation.run(0, len(records))
    return validation.done()


class JobIngestionService:
    """Ingest batches of job records and delete jobs. Names are read through the aliases of `name_aliases` and
    prices come from the `gpu_prices` table; `catalog` (the bundled one by default) stands in for both while the
    database has none (the start-up seeding did not run). `clock` is the time of ingest."""

    def __init__(self, session: AsyncSession, *, catalog: PriceCatalog | None = None,
                 clock: Any = utcnow) -> None:
        self.session = session
        self.catalog = catalog or default_catalog()
        self.clock = clock
        # The aliases and the rate card the last batch was written with: a pipeline (`app/ingestion/pipeline.py`)
        # prepares the next batch with them while this one is written, and hands it over in `ahead`; `ingest`
        # of exactly its records starts from it, once it has checked them.
        self.names: NameResolver | None = None
        self.rate_card: RateCard | None = None
        self.coefficients: Coefficients | None = None
        self.ahead: PreparedBatch | None = None

    async def ingest(self, records: Sequence[Any], *, indexes: Sequence[int] | None = None) -> IngestReport:
        """Validate, cost and upsert `records` (dicts as decoded from JSON, numbers as `Decimal` or `int`).
        `indexes` gives the position each record is reported under in `errors` (default: its 0-based index in
        `records`; an NDJSON body passes 1-based line numbers).

        When `ahead` holds these very records prepared ahead (`app/ingestion/pipeline.py`), their validation is
        kept if the aliases read now are the ones it used, and their costing if the rate card read under the
        writers' lock is the one it used; anything else is done again here, so the outcome is the same.

        Returns the report: `received`, then `created`/`updated`/`unchanged` for the jobs written, `superseded`
        for earlier valid copies of a `job_id` in the batch, `failed` for records refused (each reason in
        `errors` with the record's index, `job_id` and field), `teams_created`. The good records are stored
        whatever the bad ones did. Database errors propagate (the caller's session rolls back the batch).
        """
        now = self.clock()
        names = await load_name_resolver_or_catalog(self.session, self.catalog)
        ahead, self.ahead = self.ahead, None
        if ahead is not None and ahead.records is records and ahead.indexes is indexes and ahead.names == names:
            batch = ahead
        else:
            batch = validate(records, indexes, now=now, names=names)
        return await self._write(batch)

    async def _write(self, batch: PreparedBatch) -> IngestReport:
        self.names = batch.names
        created = updated = unchanged = teams_created = 0
        jobs = batch.jobs
        if jobs:
            teams, teams_created = await find_or_create_teams(self.session, (job.team for job in jobs))
            # The writers' lock first, then the rate card: a recost that follows a rate change waits for this
            # batch, or this batch costs with the card that change committed (app/recost).
            await serialize_job_writers(self.session)
            rate_card = await load_rate_card_or_catalog(self.session, self.catalog)
            coefficients = await load_coefficients(self.session)
            self.rate_card, self.coefficients = rate_card, coefficients
            ahead_ok = batch.rate_card == rate_card and batch.coefficients == coefficients
            staged = batch.staged if batch.staged is not None and ahead_ok else None
            team_ids = {key: team.id for key, team in teams.items()}
            created, updated = await self._upsert(jobs, staged, rate_card, coefficients, team_ids, batch.now)
            unchanged = len(jobs) - created - updated

        report = IngestReport(received=len(batch.records), created=created, updated=updated, unchanged=unchanged,
                              superseded=batch.superseded, failed=batch.failed, teams_created=teams_created,
                              errors=batch.errors, errors_omitted=batch.omitted)
        self._log(report)
        count_ingest_on_commit(self.session, report.model_dump(include=set(INGEST_OUTCOMES)))
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

    async def _upsert(self, jobs: list[NormalizedJob], staged: list[StagedJob] | None, rate_card: RateCard,
                      coefficients: Coefficients,
                      team_ids: dict[str, uuid.UUID], now: datetime) -> tuple[int, int]:
        # Costed chunk by chunk, so memory holds one chunk's snapshots however long the runs are.
        created = updated = 0
        for start in range(0, len(jobs), STAGE_ROWS):
            chunk = (staged[start:start + STAGE_ROWS] if staged is not None
                     else [stage_job(job, rate_card, coefficients) for job in jobs[start:start + STAGE_ROWS]])
            written = await write_chunk(self.session, chunk, team_ids, now)
            created += written.created
            updated += written.updated
        return created, updated

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

