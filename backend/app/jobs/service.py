"""Reading jobs: filtered, paged listings and single jobs with their cost per day, within the caller's teams.
Raises AppError subclasses; reads only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from app.core.errors import JobNotFoundError
from app.db.dialect import in_code_point_order
from app.db.models import CostSnapshot, Job
from app.ingestion.normalize import stored_job_id
from app.jobs.schemas import JobListQuery
from app.pricing.catalog import PriceCatalog, default_catalog
from app.teams.scope import TeamScope, within_teams


@dataclass(frozen=True, slots=True)
class JobPage:
    """`jobs` of one page, and `total`: how many match the same filters in all."""

    jobs: Sequence[Job]
    total: int


class JobQueryService:
    """Jobs as `scope` may see them: an admin every team's, a member its own teams' only."""

    def __init__(self, session: AsyncSession, scope: TeamScope, *, catalog: PriceCatalog | None = None) -> None:
        self.session = session
        self.scope = scope
        self.catalog = catalog or default_catalog()

    async def _conditions(self, query: JobListQuery) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        team_ids = await self.scope.narrow(self.session, team_id=query.team_id, team=query.team)
        conditions.append(within_teams(Job.team_id, team_ids))
        if query.status:
            conditions.append(Job.status.in_(query.status))
        if query.provider is not None:
            conditions.append(Job.provider == self.catalog.canonical_provider(query.provider))
        if query.gpu_type is not None:
            conditions.append(Job.gpu_type == self.catalog.canonical_gpu_type(query.gpu_type))
        if query.model_name is not None:
            conditions.append(Job.model_name == query.model_name)
        if query.user is not None:
            conditions.append(Job.user_name == query.user)
        if query.started_after is not None:
            conditions.append(Job.started_at >= query.started_after)
        if query.started_before is not None:
            conditions.append(Job.started_at < query.started_before)
        return conditions

    async def list_jobs(self, query: JobListQuery) -> JobPage:
        """The page `[skip, skip + limit)` of the jobs matching `query`'s filters, ordered by `started_at`
        descending (jobs that never started last) then `job_id` by code point, the same on both databases; and
        the count of all matching jobs, under the same conditions. Each job's `team` is loaded.

        Raises ForbiddenError (403) when a member filters on a team outside its teams.
        """
        conditions = await self._conditions(query)
        total = (await self.session.execute(
            select(func.count()).select_from(Job).where(*conditions))).scalar_one()
        jobs: Sequence[Job] = []
        if query.skip < total:
            stmt = (select(Job).where(*conditions).options(selectinload(Job.team))
                    .order_by(Job.started_at.desc().nulls_last(), in_code_point_order(self.session, Job.job_id))
                    .offset(query.skip).limit(query.limit))
            jobs = (await self.session.execute(stmt)).scalars().all()
        return JobPage(jobs=jobs, total=total)

    async def get_job(self, job_id: str, *, with_snapshots: bool = False) -> tuple[Job, list[CostSnapshot] | None]:
        """The job with external id `job_id` (trimmed, as at ingest), its `team` loaded, and with `with_snapshots`
        its cost snapshots by day (else None).

        One statement reads the job, its team and its snapshots, so they come from one state of the database even
        while the job is being ingested again: the snapshots always sum to the cost shown beside them.

        Raises JobNotFoundError (404) when there is none, or when it belongs to a team outside the caller's scope:
        a member cannot tell another team's job from a missing one.
        """
        stored = stored_job_id(job_id)
        if stored is None:
            raise JobNotFoundError(job_id)
        stmt = (select(Job).where(Job.job_id == stored, within_teams(Job.team_id, self.scope.team_ids))
                .options(joinedload(Job.team)))
        if with_snapshots:
            stmt = (stmt.add_columns(CostSnapshot).outerjoin(CostSnapshot, CostSnapshot.job_pk == Job.id)
                    .order_by(CostSnapshot.day))
        rows = (await self.session.execute(stmt)).all()
        if not rows:
            raise JobNotFoundError(stored)
        job = rows[0][0]
        return job, [row[1] for row in rows if row[1] is not None] if with_snapshots else None
