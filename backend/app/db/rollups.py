"""Keeping the rollups (`app/db/models/daily_cost.py`) equal to the cost snapshots they sum.

Every change to snapshots goes with one `apply_rollup_delta` call in the same transaction: the snapshots leaving
(a changed or deleted job's old ones, counted negative) and the snapshots arriving (counted positive) are summed
per cell, one `INSERT … SELECT … ON CONFLICT DO UPDATE SET x = x + excluded.x`
per grain (`ALL_GRAINS`), cells in key order. Writers take turns (`app.db.dialect.serialize_job_writers`), so a
delta always sees the snapshots it subtracts as they are.

A chunk of changed jobs copies their stored snapshots into the staging table first (`stage_leaving_snapshots`,
`sign` -1, beside the new ones at +1), so every grain sums one plain table: reading the leaving snapshots where they
are (a join to their jobs and a window numbering their days) in each grain's statement made the 9 grains 6.3 s
of a recost's 7.8 s of SQL; 4.4 s since (bench/README.md, recost.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    String,
    case,
    func,
    literal_column,
    select,
    true,
    type_coerce,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.aggregates import SPLIT
from app.db.dialect import insert_for, month_start
from app.db.models import CostSnapshot, Job
from app.db.models.daily_cost import ALL_GRAINS, NONE_KEY, SUM_COLUMNS, WASTED_STATUSES, Grain
from app.db.staging import ENERGY_SNAPSHOT_COLUMNS, STAGED_SNAPSHOTS

# The terms' columns: every grain's keys are among them.
KEY_COLUMNS = ("day", "month", "team_id", "model_key", "gpu_type_key", "provider_key", "user_key", "status_key")
_WASTED = tuple(status.value for status in WASTED_STATUSES)


def snapshot_terms(keys: list[ColumnElement[Any]], gpu_us: ColumnElement[Any], cost_micros: ColumnElement[Any],
           status: ColumnElement[Any], first_day: ColumnElement[Any], first_in_month: ColumnElement[Any],
           sign: int | ColumnElement[Any], energy: Sequence[ColumnElement[Any]]) -> list[ColumnElement[Any]]:
    """One snapshot's part of each summed column, times `sign` (+1 arriving, -1 leaving; or a column holding it).
    `job_count` is 1 (a day grain's count); `month_job_count` is 1 on the job's first day of the month (a month
    grain's count). `energy`: the snapshot's energy figures, in `ENERGY_SNAPSHOT_COLUMNS` order."""
    gpu = type_coerce(gpu_us, BigInteger)
    cost = type_coerce(cost_micros, BigInteger)
    unpriced = case((cost.is_(None), gpu), else_=0)
    wasted = case((status.in_(_WASTED), func.coalesce(cost, 0)), else_=0)
    parts = [func.coalesce(cost // SPLIT, 0), func.coalesce(cost % SPLIT, 0), gpu // SPLIT, gpu % SPLIT,
             unpriced // SPLIT, unpriced % SPLIT, wasted // SPLIT, wasted % SPLIT, literal_column("1"), first_day,
             *(part for figure in energy for part in (type_coerce(figure, BigInteger) // SPLIT,
                                                      type_coerce(figure, BigInteger) % SPLIT)),
             first_in_month]
    names = (*SUM_COLUMNS, "month_job_count")
    if isinstance(sign, int):
        signed = parts if sign > 0 else [-part for part in parts]
    else:
        signed = [part * sign for part in parts]
    return [*keys, *(part.label(name) for part, name in zip(signed, names, strict=True))]


def _stored_snapshots(job_pks: Select[Any]) -> Select[Any]:
    """The stored snapshots of the jobs whose `jobs.id` `job_pks` selects, in the columns of `STAGED_SNAPSHOTS`
    (without `sign`), keyed by their job's current team, model, GPU type, provider, user and status."""
    month = month_start(CostSnapshot.day)
    first = CostSnapshot.day == func.min(CostSnapshot.day).over(partition_by=CostSnapshot.job_pk)
    first_of_month = CostSnapshot.day == func.min(CostSnapshot.day).over(partition_by=(CostSnapshot.job_pk, month))
    return (select(CostSnapshot.job_pk.label("job_pk"), CostSnapshot.day.label("day"),
                   CostSnapshot.run_ms.label("run_ms"), CostSnapshot.gpu_us.label("gpu_us"),
                   type_coerce(CostSnapshot.cost, BigInteger).label("cost_micros"), Job.team_id.label("team_id"),
                   func.coalesce(Job.model_name, NONE_KEY).label("model_key"),
                   func.coalesce(Job.gpu_type, NONE_KEY).label("gpu_type_key"),
                   func.coalesce(Job.provider, NONE_KEY).label("provider_key"),
                   func.coalesce(Job.user_name, NONE_KEY).label("user_key"),
                   type_coerce(Job.status, String()).label("status_key"),
                   case((first, 1), else_=0).label("first_day"), month.label("month"),
                   case((first_of_month, 1), else_=0).label("first_in_month"),
                   *(CostSnapshot.__table__.c[name].label(name) for name in ENERGY_SNAPSHOT_COLUMNS))
            .select_from(CostSnapshot).join(Job, Job.id == CostSnapshot.job_pk)
            .where(CostSnapshot.job_pk.in_(job_pks.correlate(None).scalar_subquery())))


def leaving_snapshots(job_pks: Select[Any]) -> Select[Any]:
    """The stored snapshots of the jobs whose `jobs.id` `job_pks` selects, as negative rollup terms (call before
    the job row or its snapshots change)."""
    stored = _stored_snapshots(job_pks).subquery("leaving")
    keys = [stored.c[name].label(name) for name in KEY_COLUMNS]
    return select(*snapshot_terms(keys, stored.c.gpu_us, stored.c.cost_micros, stored.c.status_key,
                                  stored.c.first_day, stored.c.first_in_month, -1,
                                  [stored.c[name] for name in ENERGY_SNAPSHOT_COLUMNS]))


async def stage_leaving_snapshots(session: AsyncSession, job_pks: Select[Any]) -> None:
    """Copy the stored snapshots of the jobs `job_pks` selects into `STAGED_SNAPSHOTS` with `sign` -1 (call before
    the job rows or their snapshots change): `staged_snapshots()` then subtracts them from the rollups."""
    stored = _stored_snapshots(job_pks).add_columns(literal_column("-1").label("sign")).subquery("stored")
    names = [c.name for c in STAGED_SNAPSHOTS.columns]
    await session.execute(STAGED_SNAPSHOTS.insert().from_select(names, select(*(stored.c[n] for n in names))))


def staged_snapshots() -> Select[Any]:
    """The staged snapshots (`STAGED_SNAPSHOTS`) as rollup terms, each times its `sign`: new ones added, the
    leaving ones of changed jobs subtracted."""
    staged = STAGED_SNAPSHOTS.c
    keys = [staged[name].label(name) for name in KEY_COLUMNS]
    return select(*snapshot_terms(keys, staged.gpu_us, staged.cost_micros, staged.status_key, staged.first_day,
                                  staged.first_in_month, staged.sign,
                                  [staged[name] for name in ENERGY_SNAPSHOT_COLUMNS]))


def grain_sums(grain: Grain, terms: Any) -> list[ColumnElement[Any]]:
    """The sums of `terms` (rollup terms, as a subquery) that `grain` keeps, in `SUM_COLUMNS` order: a month grain
    counts a job once per month."""
    return [func.sum(terms.c["month_job_count" if name == "job_count" and grain.period == "month" else name])
            .label(name) for name in SUM_COLUMNS]


async def apply_rollup_delta(session: AsyncSession, *parts: Select[Any]) -> None:
    """Add the terms of `parts` (from `leaving_snapshots` / `arriving_snapshots`) to every rollup grain."""
    terms = (union_all(*parts) if len(parts) > 1 else parts[0]).subquery("terms")
    for grain in ALL_GRAINS:
        table, keys = grain.table, grain.key_columns
        key_columns = [terms.c[name] for name in keys]
        # WHERE true: SQLite needs a WHERE before ON CONFLICT in INSERT … SELECT to parse it unambiguously.
        grouped = (select(*key_columns, *grain_sums(grain, terms)).where(true())
                   .group_by(*key_columns).order_by(*key_columns))
        stmt = insert_for(session, table).from_select([*keys, *SUM_COLUMNS], grouped)
        stmt = stmt.on_conflict_do_update(index_elements=list(keys),
                                          set_={name: table.c[name] + stmt.excluded[name] for name in SUM_COLUMNS})
        await session.execute(stmt)
