"""Daily rollups of the cost snapshots: what the cost reports read instead of summing every snapshot.

Three grains, each a running sum kept in the same transaction as the snapshots it sums (the ingestion service
adds a job's new snapshots and subtracts its old ones; deleting a job subtracts its snapshots):
- `daily_team_costs` (day, team): by-team reports;
- `daily_model_costs` (day, model): by-model reports over every team;
- `daily_usage_costs` (day, team, model, GPU type, provider): by-model reports within some teams (a member's view,
  a team filter), and any grouping by GPU type or provider.

A missing model, GPU type or provider is stored as `""` in the key (`NONE_KEY`), since a NULL cannot be part of a
primary key and `""` is never a stored name.

Each amount is kept in two BIGINT parts, the sums of the snapshots' quotients and remainders of 10^6 (as
`app.db.aggregates` describes), so a cell cannot overflow 64 bits on SQLite however many jobs near the
billed-cost limit it holds: micro-USD (`cost_*`, priced snapshots only), GPU-microseconds (`gpu_*`) and
unpriced GPU-microseconds (`unpriced_*`). `job_count` is the number of jobs with a snapshot on that day;
`jobs_started` the number whose first snapshot day it is. A job's snapshot days are consecutive, so the jobs of a
window [start, end] are `job_count` on `start` plus `jobs_started` on each later day: distinct counts without
reading the snapshots. A cell whose jobs have all left keeps zeros (`job_count = 0`); reports skip it.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import BigInteger, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from app.db.base import Base

NONE_KEY = ""  # the key of "no model", "no GPU type", "no provider"
SUM_COLUMNS = ("cost_hi", "cost_lo", "gpu_hi", "gpu_lo", "unpriced_hi", "unpriced_lo", "job_count", "jobs_started")


def _sum_column() -> Mapped[int]:
    return mapped_column(BigInteger, nullable=False, default=0, server_default="0")


class DailySums:
    """The summed columns every rollup grain has (see the module docstring)."""

    cost_hi: Mapped[int] = _sum_column()
    cost_lo: Mapped[int] = _sum_column()
    gpu_hi: Mapped[int] = _sum_column()
    gpu_lo: Mapped[int] = _sum_column()
    unpriced_hi: Mapped[int] = _sum_column()
    unpriced_lo: Mapped[int] = _sum_column()
    job_count: Mapped[int] = _sum_column()
    jobs_started: Mapped[int] = _sum_column()


class DailyTeamCost(DailySums, Base):
    """Cost, GPU time and jobs of one team on one UTC day."""

    __tablename__ = "daily_team_costs"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("teams.id", ondelete="RESTRICT"), primary_key=True)


class DailyModelCost(DailySums, Base):
    """Cost, GPU time and jobs of one model (`""`: jobs without a model) on one UTC day, all teams together."""

    __tablename__ = "daily_model_costs"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    model_key: Mapped[str] = mapped_column(String(255), primary_key=True)


class DailyUsageCost(DailySums, Base):
    """Cost, GPU time and jobs of one (team, model, GPU type, provider) on one UTC day; `""` for a missing name."""

    __tablename__ = "daily_usage_costs"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("teams.id", ondelete="RESTRICT"), primary_key=True)
    model_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    gpu_type_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    provider_key: Mapped[str] = mapped_column(String(64), primary_key=True)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Index, ...]:  # noqa: N805
        # A member's view reads its teams' rows of a window: by team first, not by day across every team.
        return (Index("ix_daily_usage_costs_team_id_day", "team_id", "day"),)
