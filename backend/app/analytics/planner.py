"""Where an analytics query reads its cells, and the SQL that sums them.

A query names dimensions (group_by), filters, a window of UTC days and a step. The planner reads the narrowest
rollup grain (`app.db.models.daily_cost.GRAINS`) whose key covers every dimension it groups or filters by, plus
the team whenever the caller may see only some teams (so no dimension can show another team's usage). Whole
months of a window are read from month cells where a grain has them (`MONTH_GRAINS`) and the step allows it
(none, or `month`); the days around them from day cells. Label dimensions and label filters have no grain: they
read the cost snapshots joined to their jobs (`snapshot_cells`), which is exact but grows with the data.

Each statement returns, per (raw period, group): the summed amount parts, `period_jobs` (the distinct jobs of the
period, by the first-unit rule of `daily_cost.py`: `job_count` of the unit starting the clipped period plus
`jobs_started` of later units) and `window_jobs` (the same over the whole window, to be summed over periods).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    Select,
    String,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    type_coerce,
)

from app.db.dialect import label_value, month_start, week_start
from app.db.models import CostSnapshot, Job
from app.db.models.daily_cost import GRAINS, KEY_COLUMN, MONTH_GRAINS, NONE_KEY, SUM_COLUMNS, Grain
from app.db.rollups import snapshot_terms
from app.db.staging import ENERGY_SNAPSHOT_COLUMNS
from app.teams.scope import within_teams

Step = Literal["day", "week", "month"] | None
# No snapshot lies outside these days (ingest refuses instants before 1970 and in the future), so a window is
# planned within them: `end=9999-12-31` reads what `end` of today would, and no date arithmetic runs off the
# calendar. The query still echoes the window as asked.
EARLIEST = date(1970, 1, 1)
LATEST = date(9000, 12, 31)
# The most (period, group) cells one query may sum: about 60 MB of Python, and a JSON answer of 50 MB. A year of
# days by team is 18,250; every user x model x day of a year on a large cluster is millions, and is refused.
MAX_CELLS = 200_000


def planning_window(start: date | None, end: date | None) -> tuple[date | None, date | None]:
    """`start` and `end` brought within [EARLIEST, LATEST] (None stays unbounded)."""
    def clamp(day: date | None) -> date | None:
        return None if day is None else min(max(day, EARLIEST), LATEST)
    return clamp(start), clamp(end)
_AMOUNTS = tuple(name for name in SUM_COLUMNS if name not in ("job_count", "jobs_started"))
LABEL_PREFIX = "label:"


@dataclass(frozen=True, slots=True)
class Cells:
    """A table or subquery of cells: its period column (`day` or `month`), a key column per dimension it has
    (`label:KEY` included), and the `SUM_COLUMNS`. `unique`: one cell per period and key (a rollup), so a query
    grouping by exactly the cells' key reads them without aggregating."""

    source: Any
    period: Literal["day", "month"]
    keys: dict[str, ColumnElement[Any]]
    unique: bool = False

    @classmethod
    def of(cls, grain: Grain) -> Cells:
        table = grain.table
        return cls(table, grain.period, {name: table.c[KEY_COLUMN[name]] for name in grain.dimensions}, True)


@dataclass(frozen=True, slots=True)
class Filters:
    """What a query keeps: team ids (None: every team), and per dimension the values any of which may match
    (labels as key → values)."""

    team_ids: frozenset[Any] | None
    values: dict[str, Sequence[str]]
    labels: dict[str, Sequence[str]]


def grain_for(dimensions: set[str]) -> Grain:
    """The narrowest grain whose key covers `dimensions` (never labels): the usage grain covers them all."""
    return next(grain for grain in GRAINS if dimensions <= grain.dimensions)


def month_grain_for(grain: Grain) -> Grain | None:
    """Month cells with the same key as `grain`, if any."""
    return next((m for m in MONTH_GRAINS if m.dimensions == grain.dimensions), None)


def snapshot_cells(label_keys: Sequence[str], dialect: str) -> Cells:
    """The cost snapshots joined to their jobs, one cell per snapshot, with the job's keys and its labels
    `label_keys` (null when the job has no such label), read through `dialect`'s JSON functions."""
    # A job's first snapshot day is the UTC day its run started (the run is split at UTC midnights from
    # `started_at`; a zero-length run puts its cost on that day): read from the job, not looked up per snapshot.
    first_day = cast(Job.started_at, Date) if dialect == "postgresql" else func.date(Job.started_at)
    status = type_coerce(Job.status, String())
    keys: dict[str, ColumnElement[Any]] = {
        "team": Job.team_id, "model": func.coalesce(Job.model_name, NONE_KEY),
        "gpu_type": func.coalesce(Job.gpu_type, NONE_KEY), "provider": func.coalesce(Job.provider, NONE_KEY),
        "user": func.coalesce(Job.user_name, NONE_KEY), "status": status}
    for key in label_keys:
        keys[LABEL_PREFIX + key] = label_value(dialect, Job.labels, key)
    names = {name: f"k_{i}" for i, name in enumerate(keys)}
    labelled = [CostSnapshot.day.label("day"), *(column.label(names[name]) for name, column in keys.items())]
    terms = snapshot_terms(labelled, CostSnapshot.gpu_us, CostSnapshot.cost, status,
                           case((CostSnapshot.day == first_day, 1), else_=0), literal(0), 1,
                           [CostSnapshot.__table__.c[name] for name in ENERGY_SNAPSHOT_COLUMNS])
    subquery = select(*terms).select_from(CostSnapshot).join(Job, Job.id == CostSnapshot.job_pk).subquery("cells")
    return Cells(subquery, "day", {name: subquery.c[column] for name, column in names.items()})


def month_split(start: date | None, end: date | None) -> tuple[list[tuple[date | None, date | None]],
                                                                  tuple[date | None, date | None] | None]:
    """The window as day ranges around its whole calendar months: `(day_ranges, (first_month, last_month))`, months
    as their first days (None: unbounded), or no months when the window holds no whole month."""
    first = start if start is None or start.day == 1 else next_month(start)
    if end is None:
        last = None
    else:
        after = end + timedelta(days=1)
        last = _previous_month(after) if after.day == 1 else _previous_month(end.replace(day=1))
    if first is not None and last is not None and first > last:
        return [(start, end)], None
    days = []
    if start is not None and first is not None and start < first:
        days.append((start, first - timedelta(days=1)))
    if end is not None and last is not None and end > _month_end(last):
        days.append((_month_end(last) + timedelta(days=1), end))
    return days, (first, last)


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _previous_month(first: date) -> date:
    return (first.replace(day=1) - timedelta(days=1)).replace(day=1)


def _month_end(first: date) -> date:
    return next_month(first) - timedelta(days=1)


def cell_sums(cells: Cells, dimensions: Sequence[str], filters: Filters, *, lo: date | None, hi: date | None,
              step: Step, window_start: date | None) -> Select[Any]:
    """Sum `cells` whose period lies in [lo, hi] (None: unbounded) per (raw period, group): columns `period` (the
    step's period start, unclipped; absent without a step), `k0…` (the dimensions' keys, in order), the amount
    parts, `period_jobs` and `window_jobs` (see the module docstring)."""
    unit = cells.source.c[cells.period]
    period: ColumnElement[Any] | None
    if step is None:
        period = None
    elif step == "day":
        period = unit
    elif step == "week":
        period = week_start(unit)
    else:
        period = unit if cells.period == "month" else month_start(unit)
    c = cells.source.c
    starts_window = unit == window_start if window_start is not None else None
    window_jobs = case((starts_window, c.job_count), else_=c.jobs_started) if starts_window is not None \
        else c.jobs_started
    if period is None:
        period_jobs = window_jobs
    else:
        first_unit = unit == period if starts_window is None else or_(unit == period, starts_window)
        period_jobs = case((first_unit, c.job_count), else_=c.jobs_started)
    keys = [cells.keys[name].label(f"k{i}") for i, name in enumerate(dimensions)]
    groups = ([period.label("period")] if period is not None else []) + keys
    names = (*_AMOUNTS, "period_jobs", "window_jobs")
    terms = [*(c[name] for name in _AMOUNTS), period_jobs, window_jobs]
    conditions = _conditions(cells, filters, unit, lo, hi)
    one_unit = lo is not None and lo == hi
    if cells.unique and set(dimensions) == set(cells.keys) and (step == cells.period or one_unit):
        # A group is a cell (a day of a team; a team's model in a month read from month cells): read the cells as
        # they are, with no aggregate to build (a year of days by team is 18,000 groups, and hashing them spilled
        # to disk at PostgreSQL's default work_mem).
        return select(*groups, *(term.label(name) for term, name in zip(terms, names, strict=True))) \
            .select_from(cells.source).where(*conditions)
    # Each sum cast to BIGINT: PostgreSQL's sum(bigint) is numeric, decoded as a Decimal per value (thousands of
    # rows, ten sums each). The parts are small enough: a quotient of 10^6 or a remainder summed over the cells of
    # one group, far from 2^63.
    stmt = select(*groups, *(cast(func.sum(term), BigInteger).label(name)
                             for term, name in zip(terms, names, strict=True)))
    stmt = stmt.select_from(cells.source).where(*conditions)
    return stmt.group_by(*(column.element for column in groups)) if groups else stmt


def _conditions(cells: Cells, filters: Filters, unit: ColumnElement[Any], lo: date | None,
                hi: date | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [cells.source.c.job_count > 0]
    if lo is not None:
        conditions.append(unit >= lo)
    if hi is not None:
        conditions.append(unit <= hi)
    if filters.team_ids is not None:
        conditions.append(within_teams(cells.keys["team"], filters.team_ids))
    for name, values in filters.values.items():
        conditions.append(cells.keys[name].in_(list(values)))
    for key, values in filters.labels.items():
        conditions.append(cells.keys[LABEL_PREFIX + key].in_(list(values)))
    return conditions


def statements(dimensions: Sequence[str], filters: Filters, *, start: date | None, end: date | None,
               step: Step, dialect: str) -> list[Select[Any]]:
    """The statements whose rows, merged per (period, group), answer the query: one over day cells, and one over
    month cells for the window's whole months where the grain has them and the step allows. Each returns at most
    `MAX_CELLS + 1` rows, so a query over the bound is seen without reading it all."""
    return [stmt.limit(MAX_CELLS + 1)
            for stmt in _statements(dimensions, filters, start=start, end=end, step=step, dialect=dialect)]


def _statements(dimensions: Sequence[str], filters: Filters, *, start: date | None, end: date | None,
                step: Step, dialect: str) -> list[Select[Any]]:
    start, end = planning_window(start, end)
    label_keys = list(dict.fromkeys([name[len(LABEL_PREFIX):] for name in dimensions
                                     if name.startswith(LABEL_PREFIX)] + list(filters.labels)))
    if label_keys:
        return [cell_sums(snapshot_cells(label_keys, dialect), dimensions, filters, lo=start, hi=end, step=step,
                          window_start=start)]
    needed = set(dimensions) | set(filters.values)
    if filters.team_ids is not None:
        needed.add("team")
    grain = grain_for(needed)
    months = month_grain_for(grain) if step in (None, "month") else None
    if months is None:
        return [cell_sums(Cells.of(grain), dimensions, filters, lo=start, hi=end, step=step, window_start=start)]
    day_ranges, month_range = month_split(start, end)
    found = [cell_sums(Cells.of(grain), dimensions, filters, lo=lo, hi=hi, step=step, window_start=start)
             for lo, hi in day_ranges]
    if month_range is not None:
        found.append(cell_sums(Cells.of(months), dimensions, filters, lo=month_range[0], hi=month_range[1],
                               step=step, window_start=start))
    return found

