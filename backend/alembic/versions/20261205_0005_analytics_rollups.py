"""analytics rollups: wasted cost in every grain, user and status in the usage grain, and narrow grains for the
analytics query (status, GPU type × provider, team × status, team × GPU, team × model by day and by month)

See app/db/models/daily_cost.py for what each table and column holds. The upgrade rebuilds every rollup from the
snapshots already stored (a rollup is a pure function of the snapshots and their jobs), so an existing database
reports the same figures before and after; from then on the ingestion service keeps them in step.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | Sequence[str] | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_SUMS = ("cost_hi", "cost_lo", "gpu_hi", "gpu_lo", "unpriced_hi", "unpriced_lo", "job_count", "jobs_started")
_SUMS = ("cost_hi", "cost_lo", "gpu_hi", "gpu_lo", "unpriced_hi", "unpriced_lo", "wasted_hi", "wasted_lo",
         "job_count", "jobs_started")
_WASTED = "j.status IN ('failed', 'cancelled', 'preempted')"


def _sums_sql(job_count: str = "COUNT(*)", *, wasted: bool = True) -> str:
    """The summed columns of the snapshots of a group, in _SUMS order (_OLD_SUMS without `wasted`): `f.first_day`
    is each job's first day; `COUNT(*)` is the jobs of a day cell (one snapshot per job and day)."""
    parts = ["COALESCE(SUM(s.cost_micros / 1000000), 0)", "COALESCE(SUM(s.cost_micros % 1000000), 0)",
             "SUM(s.gpu_us / 1000000)", "SUM(s.gpu_us % 1000000)",
             "SUM(CASE WHEN s.cost_micros IS NULL THEN s.gpu_us / 1000000 ELSE 0 END)",
             "SUM(CASE WHEN s.cost_micros IS NULL THEN s.gpu_us % 1000000 ELSE 0 END)"]
    if wasted:
        parts += [f"SUM(CASE WHEN {_WASTED} THEN COALESCE(s.cost_micros, 0) / 1000000 ELSE 0 END)",
                  f"SUM(CASE WHEN {_WASTED} THEN COALESCE(s.cost_micros, 0) % 1000000 ELSE 0 END)"]
    return ", ".join([*parts, job_count, "SUM(CASE WHEN s.day = f.first_day THEN 1 ELSE 0 END)"])


_FROM_SQL = """
  FROM cost_snapshots s
  JOIN jobs j ON j.id = s.job_pk
  JOIN (SELECT job_pk, MIN(day) AS first_day FROM cost_snapshots GROUP BY job_pk) f ON f.job_pk = s.job_pk"""
_MODEL = "COALESCE(j.model_name, '')"
_GPU = "COALESCE(j.gpu_type, '')"
_PROVIDER = "COALESCE(j.provider, '')"


def _month(column: str) -> str:
    if op.get_bind().dialect.name == "postgresql":
        return f"CAST(date_trunc('month', {column}) AS DATE)"
    return f"date({column}, 'start of month')"


def _sum_columns(names: Sequence[str] = _SUMS) -> list[sa.Column]:
    return [sa.Column(name, sa.BigInteger(), server_default="0", nullable=False) for name in names]


def _team(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f(f'fk_{table}_team_id_teams'),
                                   ondelete='RESTRICT')


def _create(table: str, period: str, keys: dict[str, sa.types.TypeEngine]) -> None:
    """A grain table: the period column, its key columns, the sums; with a (team_id, period) index if keyed by
    team (a member's view reads its own teams' cells)."""
    columns = [sa.Column(period, sa.Date(), nullable=False),
               *(sa.Column(name, kind, nullable=False) for name, kind in keys.items())]
    constraints = [_team(table)] if "team_id" in keys else []
    op.create_table(table, *columns, *_sum_columns(), *constraints,
                    sa.PrimaryKeyConstraint(period, *keys, name=op.f(f'pk_{table}')))
    if "team_id" in keys:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(f'ix_{table}_team_id_{period}', ['team_id', period], unique=False)


def _fill(table: str, keys: dict[str, str], *, monthly: bool = False) -> None:
    """Insert into `table` the sums of the stored snapshots grouped by `keys` (column → SQL expression;
    `{month_of_day}` stands for the snapshot's month, written for the database at hand). A month grain counts a
    job once per month: on its first day of the month (`m.first_in_month`)."""
    columns = ", ".join([*keys, *_SUMS])
    expressions = ", ".join(keys.values()).replace("{month_of_day}", _month("s.day"))
    source = _FROM_SQL
    job_count = "COUNT(*)"
    if monthly:
        month = _month("day")
        source += (f"\n  JOIN (SELECT job_pk, {month} AS month, MIN(day) AS first_in_month FROM cost_snapshots "  # noqa: S608
                   f"GROUP BY job_pk, {month}) m ON m.job_pk = s.job_pk AND m.month = {_month('s.day')}")
        job_count = "SUM(CASE WHEN s.day = m.first_in_month THEN 1 ELSE 0 END)"
    op.execute(f"INSERT INTO {table} ({columns}) SELECT {expressions}, {_sums_sql(job_count)} "
               f"{source} GROUP BY {expressions}")


_STRING = sa.String


def _usage_table(with_user_and_status: bool) -> None:
    keys: dict[str, sa.types.TypeEngine] = {"team_id": sa.Uuid(), "model_key": _STRING(255),
                                            "gpu_type_key": _STRING(64), "provider_key": _STRING(64)}
    if with_user_and_status:
        keys |= {"user_key": _STRING(255), "status_key": _STRING(16)}
        _create("daily_usage_costs", "day", keys)
        return
    op.create_table("daily_usage_costs", sa.Column("day", sa.Date(), nullable=False),
                    *(sa.Column(name, kind, nullable=False) for name, kind in keys.items()),
                    *_sum_columns(_OLD_SUMS), _team("daily_usage_costs"),
                    sa.PrimaryKeyConstraint("day", *keys, name=op.f('pk_daily_usage_costs')))
    with op.batch_alter_table("daily_usage_costs", schema=None) as batch_op:
        batch_op.create_index('ix_daily_usage_costs_team_id_day', ['team_id', 'day'], unique=False)


_NEW_GRAINS: dict[str, tuple[str, dict[str, sa.types.TypeEngine], dict[str, str]]] = {
    "daily_status_costs": ("day", {"status_key": _STRING(16)}, {"day": "s.day", "status_key": "j.status"}),
    "daily_gpu_costs": ("day", {"gpu_type_key": _STRING(64), "provider_key": _STRING(64)},
                        {"day": "s.day", "gpu_type_key": _GPU, "provider_key": _PROVIDER}),
    "daily_team_status_costs": ("day", {"team_id": sa.Uuid(), "status_key": _STRING(16)},
                                {"day": "s.day", "team_id": "j.team_id", "status_key": "j.status"}),
    "daily_team_gpu_costs": ("day", {"team_id": sa.Uuid(), "gpu_type_key": _STRING(64),
                                     "provider_key": _STRING(64)},
                             {"day": "s.day", "team_id": "j.team_id", "gpu_type_key": _GPU,
                              "provider_key": _PROVIDER}),
    "daily_team_model_costs": ("day", {"team_id": sa.Uuid(), "model_key": _STRING(255)},
                               {"day": "s.day", "team_id": "j.team_id", "model_key": _MODEL}),
    "monthly_team_model_costs": ("month", {"team_id": sa.Uuid(), "model_key": _STRING(255)},
                                 {"month": "{month_of_day}", "team_id": "j.team_id", "model_key": _MODEL}),
}


def upgrade() -> None:
    for table in ("daily_team_costs", "daily_model_costs"):
        op.execute(f"DELETE FROM {table}")  # noqa: S608 - this file's table names, no input
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in _sum_columns(("wasted_hi", "wasted_lo")):
                batch_op.add_column(column)
    with op.batch_alter_table("daily_usage_costs", schema=None) as batch_op:
        batch_op.drop_index('ix_daily_usage_costs_team_id_day')
    op.drop_table("daily_usage_costs")
    _usage_table(with_user_and_status=True)
    for table, (period, keys, _) in _NEW_GRAINS.items():
        _create(table, period, keys)

    _fill("daily_team_costs", {"day": "s.day", "team_id": "j.team_id"})
    _fill("daily_model_costs", {"day": "s.day", "model_key": _MODEL})
    _fill("daily_usage_costs", {"day": "s.day", "team_id": "j.team_id", "model_key": _MODEL, "gpu_type_key": _GPU,
                                "provider_key": _PROVIDER, "user_key": "COALESCE(j.user_name, '')",
                                "status_key": "j.status"})
    for table, (period, _, expressions) in _NEW_GRAINS.items():
        _fill(table, expressions, monthly=period == "month")
    if op.get_bind().dialect.name == "postgresql":
        # Fresh statistics for the refilled tables: planned with none, a year's aggregate over a large rollup
        # was estimated at a few dozen rows and spilled to disk (PERFORMANCE.md).
        for table in ("daily_team_costs", "daily_model_costs", "daily_usage_costs", *_NEW_GRAINS):
            op.execute(f"ANALYZE {table}")


def downgrade() -> None:
    for table, (period, keys, _) in reversed(_NEW_GRAINS.items()):
        if "team_id" in keys:
            with op.batch_alter_table(table, schema=None) as batch_op:
                batch_op.drop_index(f'ix_{table}_team_id_{period}')
        op.drop_table(table)
    with op.batch_alter_table("daily_usage_costs", schema=None) as batch_op:
        batch_op.drop_index('ix_daily_usage_costs_team_id_day')
    op.drop_table("daily_usage_costs")
    _usage_table(with_user_and_status=False)
    for table in ("daily_team_costs", "daily_model_costs"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("wasted_lo")
            batch_op.drop_column("wasted_hi")
    # The usage grain's cells are summed again without user and status (0004's columns).
    keys = f"s.day, j.team_id, {_MODEL}, {_GPU}, {_PROVIDER}"
    op.execute("INSERT INTO daily_usage_costs (day, team_id, model_key, gpu_type_key, provider_key, "
               f"{', '.join(_OLD_SUMS)}) SELECT {keys}, {_sums_sql(wasted=False)} {_FROM_SQL} GROUP BY {keys}")
