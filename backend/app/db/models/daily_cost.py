"""Rollups of the cost snapshots: what the cost reports read instead of summing every snapshot.

Each rollup ("grain") is a running sum of the snapshots per period and per value of a few dimensions, kept in
the same transaction as the snapshots it sums (the ingestion service adds a job's new snapshots and subtracts
its old ones; deleting a job subtracts its snapshots). `GRAINS` lists them, narrowest first; the analytics
planner (`app/analytics/planner.py`) reads the narrowest one whose key covers a query's dimensions:

| table | period | key | answers |
|---|---|---|---|
| daily_team_costs | day | team | by team |
| daily_model_costs | day | model | by model over every team |
| daily_status_costs | day | status | by status (wasted spend) over every team |
| daily_gpu_costs | day | GPU type, provider | by GPU type and provider over every team |
| daily_team_status_costs | day | team, status | by status within some teams |
| daily_team_gpu_costs | day | team, GPU type, provider | by GPU type / provider within some teams |
| daily_team_model_costs | day | team, model | by model within some teams; team × model |
| monthly_team_model_costs | month | team, model | the same over whole months (a month is 1 cell, not 30) |
| daily_usage_costs | day | team, model, GPU type, provider, user, status | any other combination |

A missing model, GPU type, provider or user is stored as `""` in the key (`NONE_KEY`), since a NULL cannot be part
of a primary key and `""` is never a stored name. `status_key` is the job's status as last ingested.

Each amount is kept in two BIGINT parts, the sums of the snapshots' quotients and remainders of 10^6 (as
`app.db.aggregates` describes), so a cell cannot overflow 64 bits on SQLite however many jobs near the
billed-cost limit it holds: micro-USD (`cost_*`, priced snapshots only), GPU-microseconds (`gpu_*`), unpriced
GPU-microseconds (`unpriced_*`) and wasted micro-USD (`wasted_*`: the cost of jobs that ended failed, cancelled or
preempted, `WASTED_STATUSES`); and the energy figures of the snapshots (`ENERGY_AMOUNTS`, `app/energy/`):
energy and its measured part in mWh, carbon and its measured part in mg CO2e, idle GPU-microseconds, idle
micro-USD, and the GPU-microseconds whose utilisation is known (what the idle figures cover).

`job_count` is the number of jobs with a snapshot in the cell's period; `jobs_started` the number whose first
snapshot day falls in it. A job's snapshot days are consecutive, so the jobs of a window [start, end] are
`job_count` of the period starting on `start` plus `jobs_started` of every later period: distinct counts without
reading the snapshots, over days and months alike. A cell whose jobs have all left keeps zeros (`job_count = 0`);
reports skip it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from sqlalchemy import BigInteger, Date, ForeignKey, Index, String, Table
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base
from app.db.models.job import JobStatus

NONE_KEY = ""  # the key of "no model", "no GPU type", "no provider", "no user"
# The energy figures summed like the amounts (two parts each), named as the snapshot columns they sum without their
# unit: `energy` (mWh), `energy_measured` (mWh), `co2e` and `co2e_measured` (mg CO2e), `idle_gpu` (GPU-µs),
# `idle_cost` (micro-USD) and `util_gpu` (GPU-µs of jobs reporting their utilisation).
ENERGY_AMOUNTS = ("energy", "energy_measured", "co2e", "co2e_measured", "idle_gpu", "idle_cost", "util_gpu")
SUM_COLUMNS = ("cost_hi", "cost_lo", "gpu_hi", "gpu_lo", "unpriced_hi", "unpriced_lo", "wasted_hi", "wasted_lo",
               "job_count", "jobs_started", *(f"{name}_{part}" for name in ENERGY_AMOUNTS for part in ("hi", "lo")))
# Runs that did not complete: their cost is wasted spend (`wasted_*`). Succeeded, running and queued jobs are not.
WASTED_STATUSES = (JobStatus.failed, JobStatus.cancelled, JobStatus.preempted)

Dimension = Literal["team", "model", "gpu_type", "provider", "user", "status"]
# The key column that holds each dimension in a rollup (and in the staged snapshots).
KEY_COLUMN: dict[str, str] = {"team": "team_id", "model": "model_key", "gpu_type": "gpu_type_key",
                              "provider": "provider_key", "user": "user_key", "status": "status_key"}


def _sum_column() -> Mapped[int]:
    return mapped_column(BigInteger, nullable=False, default=0, server_default="0", sort_order=10)


class DailySums:
    """The summed columns every rollup grain has (see the module docstring)."""

    cost_hi: Mapped[int] = _sum_column()
    cost_lo: Mapped[int] = _sum_column()
    gpu_hi: Mapped[int] = _sum_column()
    gpu_lo: Mapped[int] = _sum_column()
    unpriced_hi: Mapped[int] = _sum_column()
    unpriced_lo: Mapped[int] = _sum_column()
    wasted_hi: Mapped[int] = _sum_column()
    wasted_lo: Mapped[int] = _sum_column()
    job_count: Mapped[int] = _sum_column()
    jobs_started: Mapped[int] = _sum_column()
    energy_hi: Mapped[int] = _sum_column()
    energy_lo: Mapped[int] = _sum_column()
    energy_measured_hi: Mapped[int] = _sum_column()
    energy_measured_lo: Mapped[int] = _sum_column()
    co2e_hi: Mapped[int] = _sum_column()
    co2e_lo: Mapped[int] = _sum_column()
    co2e_measured_hi: Mapped[int] = _sum_column()
    co2e_measured_lo: Mapped[int] = _sum_column()
    idle_gpu_hi: Mapped[int] = _sum_column()
    idle_gpu_lo: Mapped[int] = _sum_column()
    idle_cost_hi: Mapped[int] = _sum_column()
    idle_cost_lo: Mapped[int] = _sum_column()
    util_gpu_hi: Mapped[int] = _sum_column()
    util_gpu_lo: Mapped[int] = _sum_column()


# Key columns in the order (period, team, other dimensions), whatever order the mixins are declared in.
class _Day:
    day: Mapped[date] = mapped_column(Date, primary_key=True, sort_order=-2)


class _Team:
    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("teams.id", ondelete="RESTRICT"), primary_key=True,
                                               sort_order=-1)


def _by_team(table: str, period: str = "day") -> tuple[Index]:
    # A member's view reads its teams' rows of a window: by team first, not by period across every team.
    return (Index(f"ix_{table}_team_id_{period}", "team_id", period),)


def _key(length: int) -> Mapped[str]:
    return mapped_column(String(length), primary_key=True)


class DailyTeamCost(DailySums, _Team, _Day, Base):
    """Cost, GPU time and jobs of one team on one UTC day."""

    __tablename__ = "daily_team_costs"


class DailyModelCost(DailySums, _Day, Base):
    """Cost, GPU time and jobs of one model (`""`: jobs without a model) on one UTC day, all teams together."""

    __tablename__ = "daily_model_costs"

    model_key: Mapped[str] = _key(255)


class DailyStatusCost(DailySums, _Day, Base):
    """Cost, GPU time and jobs of the jobs in one status on one UTC day, all teams together."""

    __tablename__ = "daily_status_costs"

    status_key: Mapped[str] = _key(16)


class DailyGpuCost(DailySums, _Day, Base):
    """Cost, GPU time and jobs of one (GPU type, provider) on one UTC day, all teams together."""

    __tablename__ = "daily_gpu_costs"

    gpu_type_key: Mapped[str] = _key(64)
    provider_key: Mapped[str] = _key(64)


class DailyTeamStatusCost(DailySums, _Team, _Day, Base):
    """Cost, GPU time and jobs of one team's jobs in one status on one UTC day."""

    __tablename__ = "daily_team_status_costs"
    __table_args__ = _by_team("daily_team_status_costs")

    status_key: Mapped[str] = _key(16)


class DailyTeamGpuCost(DailySums, _Team, _Day, Base):
    """Cost, GPU time and jobs of one team's (GPU type, provider) on one UTC day."""

    __tablename__ = "daily_team_gpu_costs"
    __table_args__ = _by_team("daily_team_gpu_costs")

    gpu_type_key: Mapped[str] = _key(64)
    provider_key: Mapped[str] = _key(64)


class DailyTeamModelCost(DailySums, _Team, _Day, Base):
    """Cost, GPU time and jobs of one team's model on one UTC day."""

    __tablename__ = "daily_team_model_costs"
    __table_args__ = _by_team("daily_team_model_costs")

    model_key: Mapped[str] = _key(255)


class MonthlyTeamModelCost(DailySums, _Team, Base):
    """Cost, GPU time and jobs of one team's model in one calendar month (UTC; `month` is its first day):
    `job_count` counts each job once per month, `jobs_started` the jobs whose first day is in the month."""

    __tablename__ = "monthly_team_model_costs"
    __table_args__ = _by_team("monthly_team_model_costs", "month")

    month: Mapped[date] = mapped_column(Date, primary_key=True, sort_order=-2)
    model_key: Mapped[str] = _key(255)


class DailyUsageCost(DailySums, _Team, _Day, Base):
    """Cost, GPU time and jobs of one (team, model, GPU type, provider, user, status) on one UTC day; `""` for a
    missing name. As large as the snapshots on a big cluster: read only when no narrower grain covers a query."""

    __tablename__ = "daily_usage_costs"
    __table_args__ = _by_team("daily_usage_costs")

    model_key: Mapped[str] = _key(255)
    gpu_type_key: Mapped[str] = _key(64)
    provider_key: Mapped[str] = _key(64)
    user_key: Mapped[str] = _key(255)
    status_key: Mapped[str] = _key(16)


@dataclass(frozen=True, slots=True)
class Grain:
    """One rollup table: its period (`day` or `month`, the name of its period column) and its dimensions."""

    model: type[Any]
    period: Literal["day", "month"]
    dimensions: frozenset[str]

    @property
    def table(self) -> Table:
        return self.model.__table__

    @property
    def key_columns(self) -> tuple[str, ...]:
        """The primary key: the period column, then the dimensions' key columns in table order."""
        return tuple(column.name for column in self.table.primary_key.columns)


def _grain(model: type[Any], *dimensions: str, period: Literal["day", "month"] = "day") -> Grain:
    return Grain(model, period, frozenset(dimensions))


# Narrowest first: the planner takes the first that covers a query.
GRAINS: tuple[Grain, ...] = (
    _grain(DailyTeamCost, "team"),
    _grain(DailyModelCost, "model"),
    _grain(DailyStatusCost, "status"),
    _grain(DailyGpuCost, "gpu_type", "provider"),
    _grain(DailyTeamStatusCost, "team", "status"),
    _grain(DailyTeamGpuCost, "team", "gpu_type", "provider"),
    _grain(DailyTeamModelCost, "team", "model"),
    _grain(DailyUsageCost, "team", "model", "gpu_type", "provider", "user", "status"),
)
# Month cells beside a day grain of the same dimensions: whole months of a window are read from them.
MONTH_GRAINS: tuple[Grain, ...] = (
    _grain(MonthlyTeamModelCost, "team", "model", period="month"),
)
ALL_GRAINS = GRAINS + MONTH_GRAINS
