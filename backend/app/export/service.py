"""Reading the cost snapshots of a window as FOCUS rows (`focus.SnapshotRow`), in keyset batches, within the
caller's teams. Reads only; never FastAPI (the CLI calls it too)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Row, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models import CostSnapshot, Job, Team
from app.export.focus import SnapshotRow, focus_lines, header_line
from app.teams.scope import TeamScope, within_teams

EXPORT_BATCH = 2_000
# Called with each batch's session before it is read; raises to stop the export.
Recheck = Callable[[AsyncSession], Awaitable[None]]
_READ = (CostSnapshot.day, CostSnapshot.job_pk, CostSnapshot.gpu_us, CostSnapshot.cost, Job.job_id, Job.team_id,
         Team.name.label("team_name"), Job.model_name, Job.user_name, Job.gpu_type, Job.gpu_milli, Job.provider,
         Job.status, Job.cost_source)


def _snapshot_rows(rows: list[Row[Any]]) -> list[SnapshotRow]:
    # Unpacked as tuples: reading a Row's attributes by name cost more than the query itself.
    return [SnapshotRow(day, job_id, team_id, team_name, model_name, user_name, gpu_type, gpu_milli, provider,
                        status.value, cost_source.value, cost, gpu_us)
            for (day, _, gpu_us, cost, job_id, team_id, team_name, model_name, user_name, gpu_type, gpu_milli,
                 provider, status, cost_source) in rows]


@dataclass(frozen=True, slots=True)
class FocusExport:
    """The snapshots whose UTC day is in [start, end] (both included) of the teams in `team_ids` (None: every
    team), to be read batch by batch."""

    start: date
    end: date
    team_ids: frozenset[Any] | None

    async def batches(self, sessions: async_sessionmaker[AsyncSession], size: int = EXPORT_BATCH,
                      recheck: Recheck | None = None) -> AsyncIterator[list[SnapshotRow]]:
        """Batches of up to `size` rows ordered by day, then by the job's internal id: a keyset read, each batch in
        a short session of its own (no connection held while the client reads; memory holds one batch). A job
        ingested again meanwhile may show its old share on days already sent and its new share on later ones.
        `recheck`, given the batch's session, runs before each batch is read: it raises to stop the export (a read
        token revoked since the export began)."""
        after: tuple[date, Any] | None = None
        while True:
            conditions = [CostSnapshot.day >= self.start, CostSnapshot.day <= self.end,
                          within_teams(Job.team_id, self.team_ids)]
            if after is not None:
                day, job_pk = after
                conditions += [CostSnapshot.day >= day, or_(CostSnapshot.day > day, CostSnapshot.job_pk > job_pk)]
            stmt = (select(*_READ).join(Job, Job.id == CostSnapshot.job_pk).join(Team, Team.id == Job.team_id)
                    .where(*conditions).order_by(CostSnapshot.day, CostSnapshot.job_pk).limit(size))
            async with sessions() as session:
                if recheck is not None:
                    await recheck(session)
                rows = (await session.execute(stmt)).all()
            if rows:
                yield _snapshot_rows(rows)
            if len(rows) < size:
                return
            after = (rows[-1].day, rows[-1].job_pk)

    async def csv_chunks(self, sessions: async_sessionmaker[AsyncSession], size: int = EXPORT_BATCH,
                         recheck: Recheck | None = None) -> AsyncIterator[str]:
        """The CSV text: the header line, then one chunk per batch (`recheck` as for `batches`)."""
        yield header_line()
        async for batch in self.batches(sessions, size, recheck):
            yield focus_lines(batch)


class FocusExportService:
    """FOCUS exports as `scope` may read them: an admin every team's cost, a narrower scope only its teams'."""

    def __init__(self, session: AsyncSession, scope: TeamScope) -> None:
        self.session = session
        self.scope = scope

    async def export(self, start: date, end: date) -> FocusExport:
        """The window's export, to be read by `FocusExport.batches` or `csv_chunks` (the window is checked by the
        caller's schema: `start <= end`, at most `MAX_WINDOW_DAYS` days)."""
        team_ids = await self.scope.narrow(self.session)
        return FocusExport(start=start, end=end, team_ids=team_ids)
