"""Reading jobs: filtered, paged listings and single jobs with their cost per day, within the caller's teams.
Raises AppError subclasses; reads only."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Row, exists, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import joinedload

from app.core.errors import JobNotFoundError
from app.db.models import CostSnapshot, Job
from app.ingestion.normalize import stored_job_id
from app.jobs.cursor import CursorCodec, Position, filters_digest
from app.jobs.ordering import DEFAULT_SORT, SORTS, SortOrder, listing, rows_after
from app.jobs.schemas import JobListQuery
from app.pricing.aliases import NameResolver
from app.pricing.catalog import PriceCatalog, default_catalog
from app.pricing.service import load_name_resolver_or_catalog
from app.teams.scope import TeamScope, within_teams

EXPORT_BATCH = 1_000


@dataclass(frozen=True, slots=True)
class JobPage:
    """`jobs` of one page (rows with `Job`'s attribute names plus `team_name`); `total`, how many match the same
    filters in all (None when not counted); whether more follow, and the cursor of the next page."""

    jobs: Sequence[Row[Any]]
    total: int | None
    has_more: bool
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class JobExport:
    """Every job matching a listing's filters, read in keyset batches for a streamed export."""

    conditions: Sequence[ColumnElement[bool]]
    order: SortOrder = SORTS[DEFAULT_SORT]

    async def batches(self, sessions: async_sessionmaker[AsyncSession], size: int | None = None
                      ) -> AsyncIterator[list[Row[Any]]]:
        """Batches of up to `size` jobs, in the listing's order, until none is left. Each batch is read in a short
        session of its own, so no connection is held while the client takes its time; memory holds one batch.
        Jobs ingested meanwhile are exported if they sort after the batches already read."""
        size = size or EXPORT_BATCH
        after: Position | None = None
        while True:
            async with sessions() as session:
                rows = await rows_after(session, self.conditions, self.order, after, size)
            if rows:
                yield rows
            if len(rows) < size:
                return
            after = self.order.of(rows[-1])


class JobQueryService:
    """Jobs as `scope` may see them: an admin every team's, a member its own teams' only. `cursors` signs and
    checks the listing's cursors (needed by `list_jobs`)."""

    def __init__(self, session: AsyncSession, scope: TeamScope, *, catalog: PriceCatalog | None = None,
                 cursors: CursorCodec | None = None) -> None:
        self.session = session
        self.scope = scope
        self.catalog = catalog or default_catalog()
        self.cursors = cursors

    def _label_condition(self, key: str, values: list[str]) -> ColumnElement[bool]:
        # `labels` is a JSON column: PostgreSQL reads a key with `->>`; SQLite through json_each, which takes any
        # key as it is (a JSON path would need quoting rules for keys holding `"` or `.`).
        if self.session.get_bind().dialect.name == "postgresql":
            return Job.labels[key].as_string().in_(values)
        entries = func.json_each(Job.labels).table_valued("key", "value").alias("label")
        return exists(select(literal_column("1")).select_from(entries)
                      .where(entries.c.key == key, entries.c.value.in_(values)))

    async def _names(self, query: JobListQuery) -> PriceCatalog | NameResolver:
        """The aliases filters are read through: the database's (an admin's aliases too) when the query filters
        by provider or GPU type, else the catalog's (no query spent)."""
        if query.provider is None and query.gpu_type is None:
            return self.catalog
        return await load_name_resolver_or_catalog(self.session, self.catalog)

    async def _conditions(self, query: JobListQuery, names: PriceCatalog | NameResolver | None = None
                          ) -> list[ColumnElement[bool]]:
        names = names or await self._names(query)
        conditions: list[ColumnElement[bool]] = []
        team_ids = await self.scope.narrow(self.session, team_id=query.team_id, team=query.team)
        conditions.append(within_teams(Job.team_id, team_ids))
        if query.status:
            conditions.append(Job.status.in_(query.status))
        if query.provider is not None:
            conditions.append(Job.provider == names.canonical_provider(query.provider))
        if query.gpu_type is not None:
            conditions.append(Job.gpu_type == names.canonical_gpu_type(query.gpu_type))
        if query.model_name is not None:
            conditions.append(Job.model_name == query.model_name)
        if query.user is not None:
            conditions.append(Job.user_name == query.user)
        for key, values in query.label_filters().items():
            conditions.append(self._label_condition(key, values))
        if query.started_after is not None:
            conditions.append(Job.started_at >= query.started_after)
        if query.started_before is not None:
            conditions.append(Job.started_at < query.started_before)
        return conditions

    def _filters_digest(self, query: JobListQuery, names: PriceCatalog | NameResolver) -> str:
        filters = query.filters()  # the sort too, unless the default: a cursor continues one order
        # Catalog aliases name the same filter: `provider=AWS` continues a listing made with `provider=aws`.
        if query.provider is not None:
            filters["provider"] = names.canonical_provider(query.provider)
        if query.gpu_type is not None:
            filters["gpu_type"] = names.canonical_gpu_type(query.gpu_type)
        return filters_digest(filters)

    async def list_jobs(self, query: JobListQuery) -> JobPage:
        """One page of the jobs matching `query`'s filters, in `query.sort`'s order (by default `started_at`
        descending; jobs without the value last in either direction; then `job_id` by code point, the same on both
        databases): after `query.cursor`
        (a keyset read, as fast on page 2,000 as on page 1), else `[skip, skip + limit)`. `total` counts every
        matching job, under the same conditions, when `include_total` is true, or is left None (the default
        for cursor pages: a count costs a read of every matching job). Each row has its team's name.

        Raises ForbiddenError (403) when a member filters on a team outside its teams, InvalidCursorError (422)
        for a cursor that is malformed, altered, foreign, or made under other filters or another sort.
        """
        if self.cursors is None:
            raise RuntimeError("JobQueryService.list_jobs needs `cursors`")
        names = await self._names(query)
        digest = self._filters_digest(query, names)
        after = None if query.cursor is None else self.cursors.decode(query.cursor, digest)
        conditions = await self._conditions(query, names)
        order = SORTS[query.sort]
        count = query.include_total if query.include_total is not None else query.cursor is None
        total = None
        if count:
            total = (await self.session.execute(
                select(func.count()).select_from(Job).where(*conditions))).scalar_one()
        rows: list[Row[Any]] = []
        if after is not None:
            rows = await rows_after(self.session, conditions, order, after, query.limit + 1)
        elif total is None or query.skip < total:
            stmt = listing(self.session, conditions, order).offset(query.skip).limit(query.limit + 1)
            rows = list((await self.session.execute(stmt)).all())
        has_more = len(rows) > query.limit
        rows = rows[:query.limit]
        next_cursor = self.cursors.encode(order.of(rows[-1]), digest) if has_more else None
        return JobPage(jobs=rows, total=total, has_more=has_more, next_cursor=next_cursor)

    async def export(self, query: JobListQuery) -> JobExport:
        """Every job matching `query`'s filters (paging aside), in its sort's order, to be read in batches by
        `JobExport.batches`. The caller's scope is checked here, before anything is streamed.

        Raises ForbiddenError (403) when a member filters on a team outside its teams.
        """
        return JobExport(conditions=await self._conditions(query), order=SORTS[query.sort])

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
