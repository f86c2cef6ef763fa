"""Cost analytics: sums over the cost snapshots of the UTC days in a window, grouped by up to three dimensions and
stepped by day, ISO week or month, within the caller's teams, read from the rollups kept equal to the snapshots
(`app/db/rollups.py`; which rollup, `planner.py`). Every figure is an exact integer sum (micro-USD,
GPU-microseconds), rounded once when shown. The by-team and by-model reports are views of the same query.
Reads only; raises AppError subclasses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.analytics import planner
from app.analytics.query_schemas import CostQuery, CostQueryReport, CostRow, CostTotals
from app.analytics.schemas import CostWindowQuery, ModelCost, ModelCostReport, TeamCost, TeamCostReport
from app.core.money import gpu_hours
from app.db.aggregates import joined_sum
from app.db.models import Team
from app.db.models.daily_cost import NONE_KEY
from app.db.types import micros_to_usd
from app.pricing.catalog import PriceCatalog, default_catalog
from app.teams.scope import TeamScope


@dataclass(slots=True)
class Sums:
    """Exact sums of one group: micro-USD (all, and wasted), GPU-microseconds (all, and unpriced), distinct jobs."""

    cost_micros: int = 0
    gpu_us: int = 0
    unpriced_gpu_us: int = 0
    wasted_micros: int = 0
    job_count: int = 0

    def add(self, other: Sums) -> None:
        self.cost_micros += other.cost_micros
        self.gpu_us += other.gpu_us
        self.unpriced_gpu_us += other.unpriced_gpu_us
        self.wasted_micros += other.wasted_micros
        self.job_count += other.job_count

    def measures(self) -> dict[str, Any]:
        return {"cost": micros_to_usd(self.cost_micros), "gpu_hours": gpu_hours(self.gpu_us),
                "unpriced_gpu_hours": gpu_hours(self.unpriced_gpu_us),
                "wasted_cost": micros_to_usd(self.wasted_micros), "job_count": self.job_count}


def _amounts(row: Any, jobs: int) -> Sums:
    return Sums(cost_micros=joined_sum(row.cost_hi, row.cost_lo), gpu_us=joined_sum(row.gpu_hi, row.gpu_lo),
                unpriced_gpu_us=joined_sum(row.unpriced_hi, row.unpriced_lo),
                wasted_micros=joined_sum(row.wasted_hi, row.wasted_lo), job_count=int(jobs or 0))


Key = tuple[Any, ...]  # a group's keys as stored: team ids, names ("" for none), label values (None for none)


@dataclass(slots=True)
class Aggregate:
    """The query's exact figures: per (raw period start, group) and per group over the whole window."""

    cells: dict[tuple[date | None, Key], Sums] = field(default_factory=dict)
    groups: dict[Key, Sums] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Period:
    start: date | None
    end: date | None


def _period_of(raw: date | None, step: str | None, start: date | None, end: date | None) -> _Period:
    """The period starting (unclipped) on `raw`, clipped to the window; without a step, the window itself."""
    if step is None or raw is None:
        return _Period(start, end)
    if step == "day":
        last = raw
    elif step == "week":
        last = raw + timedelta(days=6)
    else:
        last = planner._month_end(raw)  # noqa: SLF001 - the planner's own month arithmetic
    return _Period(max(raw, start) if start else raw, min(last, end) if end else last)


def _periods(step: str, first: date, last: date) -> list[date]:
    """Raw period starts from the period holding `first` to the one holding `last`."""
    if step == "day":
        current = first
    elif step == "week":
        current = first - timedelta(days=first.weekday())
    else:
        current = first.replace(day=1)
    found = []
    while current <= last:
        found.append(current)
        current = (current + timedelta(days=1 if step == "day" else 7) if step != "month"
                   else planner._next_month(current))  # noqa: SLF001
    return found


def _name_key(value: str | None) -> tuple[bool, str, str]:
    return (value is None, (value or "").casefold(), value or "")


class CostAnalyticsService:
    """Cost in a window of UTC days as `scope` may see it: an admin every team's, a member its own teams'."""

    def __init__(self, session: AsyncSession, scope: TeamScope, *, catalog: PriceCatalog | None = None) -> None:
        self.session = session
        self.scope = scope
        self.catalog = catalog or default_catalog()

    async def _filters(self, query: CostQuery) -> planner.Filters:
        team_ids = await self.scope.narrow_many(self.session, team_ids=query.team_id, teams=query.team)
        values: dict[str, list[str]] = {}
        for name, given in (("model", query.model_name), ("user", query.user),
                            ("gpu_type", [self.catalog.canonical_gpu_type(v) for v in query.gpu_type]),
                            ("provider", [self.catalog.canonical_provider(v) for v in query.provider]),
                            ("status", [status.value for status in query.status])):
            if given:
                values[name] = sorted(set(given))
        labels: dict[str, list[str]] = {}
        for key, value in query.label:
            labels.setdefault(key, []).append(value)
        return planner.Filters(team_ids, values, labels)

    async def aggregate(self, query: CostQuery) -> Aggregate:
        """The exact sums of `query` per (raw period, group) and per group over the window.

        Raises ForbiddenError (403) when a member names a team outside its teams.
        """
        filters = await self._filters(query)
        found = Aggregate()
        if filters.team_ids is not None and not filters.team_ids:
            return found
        stepped = query.step is not None
        width = len(query.group_by)
        for stmt in planner.statements(query.group_by, filters, start=query.start, end=query.end, step=query.step):
            for row in await self.session.execute(stmt):
                key = tuple(row[1 + i] if stepped else row[i] for i in range(width))
                period = row.period if stepped else None
                cell = found.cells.setdefault((period, key), Sums())
                cell.add(_amounts(row, row.period_jobs))
                group = found.groups.setdefault(key, Sums())
                group.add(_amounts(row, row.window_jobs))
        return found

    async def query(self, query: CostQuery) -> CostQueryReport:
        """Cost, GPU-hours, unpriced GPU-hours, wasted cost and distinct jobs per group of `query.group_by` and
        period of `query.step`, over the snapshots whose UTC day is in the window, with totals over the window
        (each job counted once). Rows by period, then by `query.order`; with `query.limit` the top groups of each
        period and one `other` row summing the rest.

        Raises ForbiddenError (403) when a member names a team outside its teams.
        """
        found = await self.aggregate(query)
        teams = await self._team_names(query.group_by, found.groups)
        totals = Sums()
        for sums in found.groups.values():
            totals.add(sums)
        cells = found.cells
        if query.fill == "zero":
            cells = self._zero_filled(query, found)
        by_period: dict[date | None, list[tuple[Key, Sums]]] = {}
        for (period, key), sums in cells.items():
            by_period.setdefault(period, []).append((key, sums))
        rows: list[CostRow] = []
        for period in sorted(by_period, key=lambda p: (p is None, p or date.min)):
            bounds = _period_of(period, query.step, query.start, query.end)
            groups = [(self._group(query.group_by, key, teams), sums) for key, sums in by_period[period]]
            groups.sort(key=self._order(query))
            rest = Sums()
            if query.limit is not None and len(groups) > query.limit:
                for _, sums in groups[query.limit:]:
                    rest.add(sums)
                groups = groups[:query.limit]
            rows += [CostRow(period_start=bounds.start, period_end=bounds.end, group=group, **sums.measures())
                     for group, sums in groups]
            if query.limit is not None and len(by_period[period]) > query.limit:
                rows.append(CostRow(period_start=bounds.start, period_end=bounds.end, other=True,
                                    group=self._group(query.group_by, None, teams), **rest.measures()))
        return CostQueryReport(start=query.start, end=query.end, step=query.step, group_by=query.group_by,
                               rows=rows, totals=CostTotals(**totals.measures()))

    def _zero_filled(self, query: CostQuery, found: Aggregate) -> dict[tuple[date | None, Key], Sums]:
        """Every period of the window (bounded by the data where the window is open) × every group seen in the
        window, with zero sums where nothing ran. Without group_by the one group always exists."""
        keys = list(found.groups) or ([()] if not query.group_by else [])
        if query.step is None:
            periods: list[date | None] = [None]
        else:
            seen = [period for period, _ in found.cells]
            first = query.start or (min(seen) if seen else None)
            last = query.end or (max(seen) if seen else None)
            periods = list(_periods(query.step, first, last)) if first and last else []
        filled = dict(found.cells)
        for period in periods:
            for key in keys:
                filled.setdefault((period, key), Sums())
        return filled

    async def _team_names(self, dimensions: Sequence[str], groups: dict[Key, Sums]) -> dict[Any, str]:
        if "team" not in dimensions:
            return {}
        position = list(dimensions).index("team")
        ids = sorted({key[position] for key in groups}, key=str)
        if not ids:
            return {}
        result = await self.session.execute(select(Team.id, Team.name).where(Team.id.in_(ids)))
        return {row.id: row.name for row in result}

    @staticmethod
    def _group(dimensions: Sequence[str], key: Key | None, teams: dict[Any, str]) -> dict[str, str | None]:
        """The API's view of a group's keys (None: the `other` row, every value null)."""
        group: dict[str, str | None] = {}
        for name, value in zip(dimensions, key or (None,) * len(dimensions), strict=True):
            if value is None:
                group |= {name: None, "team_id": None} if name == "team" else {name: None}
            elif name == "team":
                group["team"] = teams[value]
                group["team_id"] = str(value)
            elif name.startswith(planner.LABEL_PREFIX):
                group[name] = value
            else:
                group[name] = None if value == NONE_KEY else value
        return group

    @staticmethod
    def _order(query: CostQuery) -> Any:
        names = list(query.group_by)

        def name_key(item: tuple[dict[str, str | None], Sums]) -> tuple[Any, ...]:
            return tuple(_name_key(item[0][name]) for name in names)

        if query.order == "name":
            return name_key
        if query.order == "gpu_hours":
            return lambda item: (-item[1].gpu_us, *name_key(item))
        return lambda item: (-item[1].cost_micros, *name_key(item))

    async def _window_groups(self, window: CostWindowQuery, dimension: str) -> dict[Key, Sums]:
        query = CostQuery(start=window.start, end=window.end, group_by=[dimension],
                          team_id=[window.team_id] if window.team_id else [],
                          team=[window.team] if window.team else [])
        return (await self.aggregate(query)).groups

    @staticmethod
    def _report_fields(window: CostWindowQuery, groups: Sequence[Sums]) -> dict[str, Any]:
        total = Sums()
        for sums in groups:
            total.add(sums)
        return {"start": window.start, "end": window.end, "total_cost": micros_to_usd(total.cost_micros),
                "total_gpu_hours": gpu_hours(total.gpu_us), "unpriced_gpu_hours": gpu_hours(total.unpriced_gpu_us),
                "job_count": total.job_count}

    @staticmethod
    def _figures(sums: Sums) -> dict[str, Any]:
        return {"total_cost": micros_to_usd(sums.cost_micros), "gpu_hours": gpu_hours(sums.gpu_us),
                "unpriced_gpu_hours": gpu_hours(sums.unpriced_gpu_us), "job_count": sums.job_count}

    async def by_team(self, window: CostWindowQuery) -> TeamCostReport:
        """Cost, GPU-hours, unpriced GPU-hours and distinct jobs per team over the snapshots whose UTC day is in
        `[window.start, window.end]` (either end may be open), with totals; teams without a snapshot in the
        window are left out. Items by cost descending, then team name. (The analytics query grouped by team.)

        Raises ForbiddenError (403) when a member asks for a team outside its teams.
        """
        groups = await self._window_groups(window, "team")
        names = await self._team_names(["team"], groups)
        items = [TeamCost(team_id=key[0], team_name=names[key[0]], **self._figures(s)) for key, s in groups.items()]
        items.sort(key=lambda i: (-i.total_cost, i.team_name.casefold(), i.team_name, str(i.team_id)))
        return TeamCostReport(**self._report_fields(window, list(groups.values())), items=items)

    async def by_model(self, window: CostWindowQuery) -> ModelCostReport:
        """Cost, GPU-hours, unpriced GPU-hours and distinct jobs per `model_name` (jobs without one grouped under
        null) over the snapshots whose UTC day is in the window, with totals. Items by cost descending, then
        model name; the null group sorts after every name of the same cost. (The analytics query grouped by
        model.)

        Raises ForbiddenError (403) when a member asks for a team outside its teams.
        """
        groups = await self._window_groups(window, "model")
        items = [ModelCost(model_name=None if key[0] == NONE_KEY else key[0], **self._figures(s))
                 for key, s in groups.items()]
        items.sort(key=lambda i: (-i.total_cost, *_name_key(i.model_name)))
        return ModelCostReport(**self._report_fields(window, list(groups.values())), items=items)

