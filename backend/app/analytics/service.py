"""Cost analytics: sums over the cost snapshots of the UTC days in a window, by team or by model, within the
caller's teams, read from the daily rollups kept equal to the snapshots (`app/db/rollups.py`). Every figure is
an exact integer sum (micro-USD, GPU-microseconds), rounded once when shown. Reads only; raises AppError
subclasses."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.analytics.schemas import CostWindowQuery, ModelCost, ModelCostReport, TeamCost, TeamCostReport
from app.core.money import gpu_hours
from app.db.aggregates import joined_sum
from app.db.models import DailyModelCost, DailyTeamCost, DailyUsageCost, Team
from app.db.models.daily_cost import NONE_KEY
from app.db.types import micros_to_usd
from app.teams.scope import TeamScope, within_teams


@dataclass(slots=True)
class _Sums:
    """Exact sums of one group: micro-USD, GPU-microseconds (all, and unpriced) and distinct jobs."""

    cost_micros: int = 0
    gpu_us: int = 0
    unpriced_gpu_us: int = 0
    job_count: int = 0

    def add(self, other: _Sums) -> None:
        self.cost_micros += other.cost_micros
        self.gpu_us += other.gpu_us
        self.unpriced_gpu_us += other.unpriced_gpu_us
        self.job_count += other.job_count

    def figures(self) -> dict[str, Any]:
        return {"total_cost": micros_to_usd(self.cost_micros), "gpu_hours": gpu_hours(self.gpu_us),
                "unpriced_gpu_hours": gpu_hours(self.unpriced_gpu_us), "job_count": self.job_count}


def _sum_columns(table: Any, window: CostWindowQuery) -> list[ColumnElement[Any]]:
    """The sums of a rollup grain's cells over a window. Jobs: those with a snapshot on the window's first day,
    plus those whose first snapshot day is a later day of the window (a job's snapshot days are consecutive),
    so a job that runs across days is counted once."""
    if window.start is None:
        jobs = table.c.jobs_started
    else:
        jobs = case((table.c.day == window.start, table.c.job_count), else_=table.c.jobs_started)
    return [*(func.sum(table.c[name]).label(name) for name in ("cost_hi", "cost_lo", "gpu_hi", "gpu_lo",
                                                                 "unpriced_hi", "unpriced_lo")),
            func.sum(jobs).label("job_count")]


def _sums(row: Any) -> _Sums:
    return _Sums(cost_micros=joined_sum(row.cost_hi, row.cost_lo), gpu_us=joined_sum(row.gpu_hi, row.gpu_lo),
                 unpriced_gpu_us=joined_sum(row.unpriced_hi, row.unpriced_lo), job_count=int(row.job_count))


class CostAnalyticsService:
    """Cost in a window of UTC days as `scope` may see it: an admin every team's, a member its own teams'."""

    def __init__(self, session: AsyncSession, scope: TeamScope) -> None:
        self.session = session
        self.scope = scope

    async def _rows(self, window: CostWindowQuery, by: str) -> list[Any]:
        """Sums per team (`by="team"`) or per model key (`by="model"`) from the daily rollups: (day, team) for
        teams; (day, model) for models over every team; (day, team, model, …) for models within some teams."""
        team_ids = await self.scope.narrow(self.session, team_id=window.team_id, team=window.team)
        if team_ids is not None and not team_ids:
            return []
        if by == "team":
            table, key = DailyTeamCost.__table__, "team_id"
        elif team_ids is None:
            table, key = DailyModelCost.__table__, "model_key"
        else:
            table, key = DailyUsageCost.__table__, "model_key"
        stmt = select(table.c[key].label("key"), *_sum_columns(table, window)).where(table.c.job_count > 0)
        if window.start is not None:
            stmt = stmt.where(table.c.day >= window.start)
        if window.end is not None:
            stmt = stmt.where(table.c.day <= window.end)
        if "team_id" in table.c:
            stmt = stmt.where(within_teams(table.c.team_id, team_ids))
        return list((await self.session.execute(stmt.group_by(table.c[key]))).all())

    @staticmethod
    def _report_fields(window: CostWindowQuery, groups: Sequence[_Sums]) -> dict[str, Any]:
        total = _Sums()
        for sums in groups:
            total.add(sums)
        figures = total.figures()
        return {"start": window.start, "end": window.end, "total_cost": figures["total_cost"],
                "total_gpu_hours": figures["gpu_hours"], "unpriced_gpu_hours": figures["unpriced_gpu_hours"],
                "job_count": total.job_count}

    async def by_team(self, window: CostWindowQuery) -> TeamCostReport:
        """Cost, GPU-hours, unpriced GPU-hours and distinct jobs per team over the snapshots whose UTC day is in
        `[window.start, window.end]` (either end may be open), with totals; teams without a snapshot in the
        window are left out. Items by cost descending, then team name.

        Raises ForbiddenError (403) when a member asks for a team outside its teams.
        """
        rows = await self._rows(window, "team")
        sums = {row.key: _sums(row) for row in rows}
        names: dict[uuid.UUID, str] = {}
        if sums:
            result = await self.session.execute(select(Team.id, Team.name).where(Team.id.in_(sorted(sums))))
            names = {row.id: row.name for row in result}
        items = [TeamCost(team_id=team_id, team_name=names[team_id], **s.figures()) for team_id, s in sums.items()]
        items.sort(key=lambda i: (-i.total_cost, i.team_name.casefold(), i.team_name, str(i.team_id)))
        return TeamCostReport(**self._report_fields(window, list(sums.values())), items=items)

    async def by_model(self, window: CostWindowQuery) -> ModelCostReport:
        """Cost, GPU-hours, unpriced GPU-hours and distinct jobs per `model_name` (jobs without one grouped under
        null) over the snapshots whose UTC day is in the window, with totals. Items by cost descending, then
        model name; the null group sorts after every name of the same cost.

        Raises ForbiddenError (403) when a member asks for a team outside its teams.
        """
        rows = await self._rows(window, "model")
        sums = {(row.key if row.key != NONE_KEY else None): _sums(row) for row in rows}
        items = [ModelCost(model_name=name, **s.figures()) for name, s in sums.items()]
        items.sort(key=lambda i: (-i.total_cost, i.model_name is None, (i.model_name or "").casefold(),
                                  i.model_name or ""))
        return ModelCostReport(**self._report_fields(window, list(sums.values())), items=items)
