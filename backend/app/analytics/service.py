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
from app.analytics.query_schemas import CostQuery
from app.analytics.schemas import CostWindowQuery, ModelCost, ModelCostReport, TeamCost, TeamCostReport
from app.core.errors import UnprocessableError
from app.core.money import gpu_hours, gpu_hours_text, micros_text
from app.db.aggregates import SPLIT
from app.db.dialect import widen_work_mem
from app.db.models import Team
from app.db.models.daily_cost import NONE_KEY
from app.db.types import micros_to_usd
from app.pricing.catalog import PriceCatalog, default_catalog
from app.pricing.service import load_name_resolver_or_catalog
from app.teams.scope import TeamScope

# A group's exact figures, in this order: micro-USD, GPU-microseconds, unpriced GPU-microseconds, wasted micro-USD,
# the energy figures (`ENERGY_AMOUNTS`: mWh, measured mWh, mg CO2e, measured mg CO2e, idle GPU-microseconds, idle
# micro-USD, GPU-microseconds with a known utilisation), distinct jobs. Plain lists of ints: a year of days by team
# is 18,000 of them, summed and shown per request.
COST, GPU, UNPRICED, WASTED, ENERGY, ENERGY_MEASURED, CO2E, CO2E_MEASURED, IDLE_GPU, IDLE_COST, UTIL_GPU, JOBS = \
    range(12)
WIDTH = JOBS + 1
Key = tuple[Any, ...]  # a group's keys as stored: team ids, names ("" for none), label values (None for none)


def _add(target: list[int], values: Sequence[int]) -> None:
    for i, value in enumerate(values):
        target[i] += value


def _measures(sums: Sequence[int]) -> dict[str, Any]:
    # mWh and mg are millionths of a kWh and a kg, as micro-USD of a USD: the same 6-place text.
    return {"cost": micros_text(sums[COST]), "gpu_hours": gpu_hours_text(sums[GPU]),
            "unpriced_gpu_hours": gpu_hours_text(sums[UNPRICED]), "wasted_cost": micros_text(sums[WASTED]),
            "job_count": sums[JOBS], "energy_kwh": micros_text(sums[ENERGY]),
            "energy_measured_kwh": micros_text(sums[ENERGY_MEASURED]), "co2e_kg": micros_text(sums[CO2E]),
            "co2e_measured_kg": micros_text(sums[CO2E_MEASURED]), "idle_gpu_hours": gpu_hours_text(sums[IDLE_GPU]),
            "idle_cost": micros_text(sums[IDLE_COST]),
            "utilization_known_gpu_hours": gpu_hours_text(sums[UTIL_GPU])}


@dataclass(slots=True)
class Aggregate:
    """The query's exact figures: per (raw period start, group) and per group over the whole window."""

    cells: dict[tuple[date | None, Key], list[int]] = field(default_factory=dict)
    groups: dict[Key, list[int]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CostQueryResult:
    """The answer to a `CostQuery`, already in the API's shape (`CostQueryReport`): rows and totals as dicts of
    6-place decimal strings, so a response of thousands of rows is encoded without a model per row."""

    query: CostQuery
    rows: list[dict[str, Any]]
    totals: dict[str, Any]

    def document(self) -> dict[str, Any]:
        q = self.query
        return {"start": _iso(q.start), "end": _iso(q.end), "step": q.step, "group_by": q.group_by,
                "currency": "USD", "rows": self.rows, "totals": self.totals}


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _period_bounds(raw: date | None, step: str | None, start: date | None,
                   end: date | None) -> tuple[str | None, str | None]:
    """The period starting (unclipped) on `raw`, clipped to the window, as ISO dates; without a step, the window."""
    if step is None or raw is None:
        return _iso(start), _iso(end)
    if step == "day":
        last = raw
    elif step == "week":
        last = raw + timedelta(days=6)
    else:
        last = planner.next_month(raw) - timedelta(days=1)
    return _iso(max(raw, start) if start else raw), _iso(min(last, end) if end else last)


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
        current = planner.next_month(current) if step == "month" else current + timedelta(
            days=1 if step == "day" else 7)
    return found


def _period_count(step: str, first: date, last: date) -> int:
    """How many periods of `step` the days [first, last] touch, by arithmetic (before listing them)."""
    if step == "day":
        return (last - first).days + 1
    if step == "week":
        return ((last - timedelta(days=last.weekday())) - (first - timedelta(days=first.weekday()))).days // 7 + 1
    return (last.year - first.year) * 12 + last.month - first.month + 1


def _too_many(query: CostQuery, filling: int | None = None) -> UnprocessableError:
    """422 for a query over `planner.MAX_CELLS` (period, group) cells, naming what would bring it under."""
    field = "fill" if filling is not None else "group_by"
    what = (f"fill=zero would make {filling:,} rows" if filling is not None
            else "the query sums too many (period, group) cells")
    why = (f"{what}, more than the {planner.MAX_CELLS:,} one request may: use a shorter window, a coarser step, "
           "fewer dimensions or filters")
    return UnprocessableError(f"Invalid request: query.{field}: {why}",
                              errors=[{"loc": ["query", field], "msg": why, "type": "too_many_cells"}])


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
        # The database's aliases (an admin's too) when a name is filtered on; no query spent otherwise.
        names = (await load_name_resolver_or_catalog(self.session, self.catalog)
                 if query.gpu_type or query.provider else self.catalog)
        for name, given in (("model", query.model_name), ("user", query.user),
                            ("gpu_type", [names.canonical_gpu_type(v) for v in query.gpu_type]),
                            ("provider", [names.canonical_provider(v) for v in query.provider]),
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
        await widen_work_mem(self.session)
        first = 1 if query.step is not None else 0  # the period column, when stepped
        width = len(query.group_by)
        cells, groups = found.cells, found.groups
        dialect = self.session.get_bind().dialect.name
        for stmt in planner.statements(query.group_by, filters, start=query.start, end=query.end, step=query.step,
                                       dialect=dialect):
            result = (await self.session.execute(stmt)).all()
            if len(result) > planner.MAX_CELLS or len(cells) + len(result) > 2 * planner.MAX_CELLS:
                raise _too_many(query)
            for row in result:
                parts, (period_jobs, window_jobs) = row[first + width:-2], row[-2:]
                if period_jobs is None:  # an aggregate without GROUP BY over no cells still gives a row
                    continue
                amounts = tuple(parts[i] * SPLIT + parts[i + 1] for i in range(0, len(parts), 2))
                key = tuple(row[first:first + width])
                cell = cells.get((row[0] if first else None, key))
                if cell is None:
                    cells[(row[0] if first else None, key)] = [*amounts, int(period_jobs)]
                else:
                    _add(cell, (*amounts, int(period_jobs)))
                group = groups.get(key)
                if group is None:
                    groups[key] = [*amounts, int(window_jobs)]
                else:
                    _add(group, (*amounts, int(window_jobs)))
        if len(cells) > planner.MAX_CELLS:
            raise _too_many(query)
        return found

    async def query(self, query: CostQuery) -> CostQueryResult:
        """Cost, GPU-hours, unpriced GPU-hours, wasted cost and distinct jobs per group of `query.group_by` and
        period of `query.step`, over the snapshots whose UTC day is in the window, with totals over the window
        (each job counted once), in the shape of `CostQueryReport`. Rows by period, then by `query.order`; with
        `query.limit` the top groups of each period and one `other` row summing the rest.

        Raises ForbiddenError (403) when a member names a team outside its teams.
        """
        found = await self.aggregate(query)
        teams = await self._team_names(query.group_by, found.groups)
        totals = [0] * WIDTH
        for sums in found.groups.values():
            _add(totals, sums)
        cells = self._zero_filled(query, found) if query.fill == "zero" else found.cells
        by_period: dict[date | None, list[tuple[Key, list[int]]]] = {}
        for (period, key), sums in cells.items():
            by_period.setdefault(period, []).append((key, sums))
        # A group's view and sort key are made once per group, not once per period: a year of days by team is
        # 18,000 rows but 50 groups.
        views = {key: self._group(query.group_by, key, teams) for key in found.groups}
        views |= {key: self._group(query.group_by, key, teams) for _, key in cells if key not in views}
        order = self._sort_keys(query, views)
        rows: list[dict[str, Any]] = []
        for period in sorted(by_period, key=lambda p: (p is None, p or date.min)):
            start, end = _period_bounds(period, query.step, query.start, query.end)
            groups = by_period[period]
            groups.sort(key=order)
            kept = groups if query.limit is None else groups[:query.limit]
            rows += [{"period_start": start, "period_end": end, "group": views[key], "other": False,
                      **_measures(sums)} for key, sums in kept]
            if len(kept) < len(groups):
                rest = [0] * WIDTH
                for _, sums in groups[len(kept):]:
                    _add(rest, sums)
                rows.append({"period_start": start, "period_end": end, "other": True,
                             "group": self._group(query.group_by, None, teams), **_measures(rest)})
        return CostQueryResult(query, rows, _measures(totals))

    def _zero_filled(self, query: CostQuery, found: Aggregate) -> dict[tuple[date | None, Key], list[int]]:
        """Every period of the window (bounded by the data where the window is open) × every group seen in the
        window, with zero sums where nothing ran. Without group_by the one group always exists."""
        keys = list(found.groups) or ([()] if not query.group_by else [])
        if query.step is None:
            periods: list[date | None] = [None]
        else:
            seen = [period for period, _ in found.cells]
            first, last = planner.planning_window(query.start or (min(seen) if seen else None),
                                                  query.end or (max(seen) if seen else None))
            count = _period_count(query.step, first, last) if first and last else 0
            if count * len(keys) > planner.MAX_CELLS:
                raise _too_many(query, filling=count * len(keys))
            periods = list(_periods(query.step, first, last)) if first and last else []
        filled = dict(found.cells)
        for period in periods:
            for key in keys:
                filled.setdefault((period, key), [0] * WIDTH)
        return filled

    async def _team_names(self, dimensions: Sequence[str], groups: dict[Key, list[int]]) -> dict[Any, str]:
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
    def _sort_keys(query: CostQuery, views: dict[Key, dict[str, str | None]]) -> Any:
        """The sort key of a (group key, sums) pair for `query.order`: a measure descending, then the group's
        values by name (case-insensitive, missing values last)."""
        names = {key: tuple(_name_key(view[name]) for name in query.group_by) for key, view in views.items()}
        if query.order == "name":
            return lambda item: names[item[0]]
        measure = GPU if query.order == "gpu_hours" else COST
        return lambda item: (-item[1][measure], names[item[0]])

    async def _window_groups(self, window: CostWindowQuery, dimension: str) -> dict[Key, list[int]]:
        query = CostQuery(start=window.start, end=window.end, group_by=[dimension],
                          team_id=[window.team_id] if window.team_id else [],
                          team=[window.team] if window.team else [])
        return (await self.aggregate(query)).groups

    @staticmethod
    def _report_fields(window: CostWindowQuery, groups: Sequence[list[int]]) -> dict[str, Any]:
        total = [0] * WIDTH
        for sums in groups:
            _add(total, sums)
        return {"start": window.start, "end": window.end, "total_cost": micros_to_usd(total[COST]),
                "total_gpu_hours": gpu_hours(total[GPU]), "unpriced_gpu_hours": gpu_hours(total[UNPRICED]),
                "job_count": total[JOBS]}

    @staticmethod
    def _figures(sums: list[int]) -> dict[str, Any]:
        return {"total_cost": micros_to_usd(sums[COST]), "gpu_hours": gpu_hours(sums[GPU]),
                "unpriced_gpu_hours": gpu_hours(sums[UNPRICED]), "job_count": sums[JOBS]}

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

