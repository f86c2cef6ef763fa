"""The orders `GET /jobs` lists in (`sort`), and the keyset reads that page through them.

Every order is one column, ascending or descending, jobs without a value (never started, unpriced) last in both
directions, then `job_id` by code point, the same on both databases: a total order, so a cursor (the last job's
key and `job_id`) says exactly where the next page starts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.dialect import in_code_point_order
from app.db.models import Job, Team
from app.jobs.cursor import Position, instant_key, instant_of

# What a listing reads: the job's columns under their attribute names, and its team's name. Columns, not `Job`
# entities: building ORM objects (and loading their teams by a second query) was 44 % of a page's CPU time.
LISTED = (Job.id, Job.job_id, Job.team_id, Team.name.label("team_name"), Job.status, Job.model_name,
          Job.gpu_type, Job.gpu_milli, Job.provider, Job.user_name, Job.submitted_at, Job.started_at, Job.ended_at,
          Job.observed_at, Job.gpu_us, Job.cost, Job.billed_cost, Job.cost_source, Job.labels, Job.energy_mwh,
          Job.gpu_util_bp, Job.region, Job.created_at, Job.updated_at, Job.energy_used_mwh, Job.co2e_mg,
          Job.idle_gpu_us, Job.idle_cost_micros, Job.energy_source, Job.energy_defaults)

DEFAULT_SORT = "-started_at"


def _micro_usd(cost: Decimal | None) -> int | None:
    return None if cost is None else int(cost.scaleb(6))


def _usd(micros: int | None) -> Decimal | None:
    return None if micros is None else Decimal(micros).scaleb(-6)


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True, slots=True)
class SortOrder:
    """One listing order: `column` (an attribute of `Job`) ascending or `descending`, nulls last, then `job_id`.
    `key` turns a row's value into the cursor's integer, `value` the integer back into what the column compares
    with."""

    column: Any
    descending: bool
    nullable: bool
    key: Callable[[Any], int | None]
    value: Callable[[int | None], Any]

    def of(self, row: Row[Any]) -> Position:
        """Where `row` stands in this order (a cursor's position)."""
        return Position(key=self.key(getattr(row, self.column.key)), job_id=row.job_id)


def _order(column: Any, descending: bool, *, nullable: bool, key: Callable[[Any], int | None] = _same,
           value: Callable[[int | None], Any] = _same) -> SortOrder:
    return SortOrder(column=column, descending=descending, nullable=nullable, key=key, value=value)


# `sort` values: a field, `-` for descending. GPU-hours are never null (0 for a job that never ran).
SORTS: dict[str, SortOrder] = {
    "-started_at": _order(Job.started_at, True, nullable=True, key=instant_key, value=instant_of),
    "started_at": _order(Job.started_at, False, nullable=True, key=instant_key, value=instant_of),
    "-cost": _order(Job.cost, True, nullable=True, key=_micro_usd, value=_usd),
    "cost": _order(Job.cost, False, nullable=True, key=_micro_usd, value=_usd),
    "-gpu_hours": _order(Job.gpu_us, True, nullable=False),
    "gpu_hours": _order(Job.gpu_us, False, nullable=False),
}


def listing(session: AsyncSession, conditions: Sequence[ColumnElement[bool]], order: SortOrder) -> Select[Any]:
    """The jobs matching `conditions` with their team names, in `order` (nulls last, then `job_id` by code
    point). PostgreSQL reads the default order from `ix_jobs_list_order`, SQLite from `ix_jobs_started_at_job_id`;
    the others from their column's index (see the migration that made them)."""
    column = order.column.desc() if order.descending else order.column.asc()
    return (select(*LISTED).join(Team, Team.id == Job.team_id).where(*conditions)
            .order_by(column.nulls_last() if order.nullable else column, in_code_point_order(session, Job.job_id)))


async def rows_after(session: AsyncSession, conditions: Sequence[ColumnElement[bool]], order: SortOrder,
                     after: Position | None, count: int) -> list[Row[Any]]:
    """Up to `count` jobs matching `conditions` that follow `after` in `order` (from the first when None): a
    keyset read, as fast however deep `after` is.

    Jobs with a value and jobs without are read by separate conditions, each an index range: `key <= k` (`>=`
    ascending) bounds the scan and `key < k OR job_id > j` only steps over `after`'s own ties (an `OR` across the
    whole key, or one including `key IS NULL`, would make the database scan from the top). The jobs without a
    value are read only when the others run out within the page.
    """
    job_id = in_code_point_order(session, Job.job_id)
    column = order.column
    if after is None:
        return list((await session.execute(listing(session, conditions, order).limit(count))).all())
    if after.key is None:
        stmt = listing(session, [*conditions, column.is_(None), job_id > after.job_id], order)
        return list((await session.execute(stmt.limit(count))).all())
    value = order.value(after.key)
    if order.descending:
        bounds = [column <= value, or_(column < value, job_id > after.job_id)]
    else:
        bounds = [column >= value, or_(column > value, job_id > after.job_id)]
    rows = list((await session.execute(listing(session, [*conditions, *bounds], order).limit(count))).all())
    if order.nullable and len(rows) < count:
        missing = listing(session, [*conditions, column.is_(None)], order).limit(count - len(rows))
        rows += (await session.execute(missing)).all()
    return rows
