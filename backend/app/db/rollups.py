"""Keeping the daily rollups (`app/db/models/daily_cost.py`) equal to the cost snapshots they sum.

Every change to snapshots goes with one `apply_rollup_delta` call in the same transaction: the snapshots leaving
(a changed or deleted job's old ones, counted negative) and the snapshots arriving (from the staging table,
counted positive) are summed per cell, one `INSERT … SELECT … ON CONFLICT DO UPDATE SET x = x + excluded.x`
per grain, cells in key order. Writers take turns (`app.db.dialect.serialize_job_writers`), so a delta always
sees the snapshots it subtracts as they are.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
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
from app.db.dialect import insert_for
from app.db.models import CostSnapshot, DailyModelCost, DailyTeamCost, DailyUsageCost, Job
from app.db.models.daily_cost import NONE_KEY, SUM_COLUMNS
from app.db.staging import STAGED_SNAPSHOTS

KEY_COLUMNS = ("day", "team_id", "model_key", "gpu_type_key", "provider_key")
_GRAINS = (
    (DailyTeamCost.__table__, ("day", "team_id")),
    (DailyModelCost.__table__, ("day", "model_key")),
    (DailyUsageCost.__table__, KEY_COLUMNS),
)


def _terms(keys: list[ColumnElement[Any]], gpu_us: ColumnElement[Any], cost_micros: ColumnElement[Any],
           first_day: ColumnElement[Any], sign: int) -> list[ColumnElement[Any]]:
    """One snapshot's part of each summed column, times `sign` (+1 arriving, -1 leaving)."""
    gpu = type_coerce(gpu_us, BigInteger)
    cost = type_coerce(cost_micros, BigInteger)
    unpriced = case((cost.is_(None), gpu), else_=0)
    parts = [func.coalesce(cost // SPLIT, 0), func.coalesce(cost % SPLIT, 0), gpu // SPLIT, gpu % SPLIT,
             unpriced // SPLIT, unpriced % SPLIT, literal_column("1"), first_day]
    signed = parts if sign > 0 else [-part for part in parts]
    return [*keys, *(part.label(name) for part, name in zip(signed, SUM_COLUMNS, strict=True))]


def leaving_snapshots(job_pks: Select[Any]) -> Select[Any]:
    """The stored snapshots of the jobs whose `jobs.id` `job_pks` selects, as negative rollup terms, keyed by their
    job's current team, model, GPU type and provider (call before the job row or its snapshots change)."""
    first = CostSnapshot.day == func.min(CostSnapshot.day).over(partition_by=CostSnapshot.job_pk)
    keys = [CostSnapshot.day.label("day"), Job.team_id.label("team_id"),
            func.coalesce(Job.model_name, NONE_KEY).label("model_key"),
            func.coalesce(Job.gpu_type, NONE_KEY).label("gpu_type_key"),
            func.coalesce(Job.provider, NONE_KEY).label("provider_key")]
    terms = _terms(keys, CostSnapshot.gpu_us, CostSnapshot.cost, case((first, 1), else_=0), -1)
    return (select(*terms).select_from(CostSnapshot).join(Job, Job.id == CostSnapshot.job_pk)
            .where(CostSnapshot.job_pk.in_(job_pks.correlate(None).scalar_subquery())))


def arriving_snapshots() -> Select[Any]:
    """The staged snapshots (`STAGED_SNAPSHOTS`) as positive rollup terms."""
    staged = STAGED_SNAPSHOTS.c
    keys = [staged[name].label(name) for name in KEY_COLUMNS]
    return select(*_terms(keys, staged.gpu_us, staged.cost_micros, staged.first_day, 1))


async def apply_rollup_delta(session: AsyncSession, *parts: Select[Any]) -> None:
    """Add the terms of `parts` (from `leaving_snapshots` / `arriving_snapshots`) to every rollup grain."""
    terms = (union_all(*parts) if len(parts) > 1 else parts[0]).subquery("terms")
    for table, keys in _GRAINS:
        key_columns = [terms.c[name] for name in keys]
        sums = [func.sum(terms.c[name]) for name in SUM_COLUMNS]
        # WHERE true: SQLite needs a WHERE before ON CONFLICT in INSERT … SELECT to parse it unambiguously.
        grouped = select(*key_columns, *sums).where(true()).group_by(*key_columns).order_by(*key_columns)
        stmt = insert_for(session, table).from_select([*keys, *SUM_COLUMNS], grouped)
        stmt = stmt.on_conflict_do_update(index_elements=list(keys),
                                          set_={name: table.c[name] + stmt.excluded[name] for name in SUM_COLUMNS})
        await session.execute(stmt)
