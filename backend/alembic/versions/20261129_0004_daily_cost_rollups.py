"""daily cost rollups: per (day, team), (day, model) and (day, team, model, GPU type, provider)

The cost reports read these instead of summing every snapshot of a window (see app/db/models/daily_cost.py for
what each column holds). The upgrade fills them from the snapshots already stored, so an existing database
reports the same figures before and after; from then on the ingestion service keeps them in step.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | Sequence[str] | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SUMS = ("cost_hi", "cost_lo", "gpu_hi", "gpu_lo", "unpriced_hi", "unpriced_lo", "job_count", "jobs_started")
# The summed columns of the snapshots of a grain's group, in _SUMS order; `f.first_day` is each job's first day.
_SUM_SQL = """
    COALESCE(SUM(s.cost_micros / 1000000), 0), COALESCE(SUM(s.cost_micros % 1000000), 0),
    SUM(s.gpu_us / 1000000), SUM(s.gpu_us % 1000000),
    SUM(CASE WHEN s.cost_micros IS NULL THEN s.gpu_us / 1000000 ELSE 0 END),
    SUM(CASE WHEN s.cost_micros IS NULL THEN s.gpu_us % 1000000 ELSE 0 END),
    COUNT(*), SUM(CASE WHEN s.day = f.first_day THEN 1 ELSE 0 END)"""
_FROM_SQL = """
  FROM cost_snapshots s
  JOIN jobs j ON j.id = s.job_pk
  JOIN (SELECT job_pk, MIN(day) AS first_day FROM cost_snapshots GROUP BY job_pk) f ON f.job_pk = s.job_pk"""


def _sum_columns() -> list[sa.Column]:
    return [sa.Column(name, sa.BigInteger(), server_default="0", nullable=False) for name in _SUMS]


def _fill(table: str, keys: dict[str, str]) -> None:
    """Insert into `table` the sums of the stored snapshots grouped by `keys` (column → SQL expression)."""
    columns = ", ".join([*keys, *_SUMS])
    expressions = ", ".join(keys.values())
    op.execute(f"INSERT INTO {table} ({columns}) SELECT {expressions}, {_SUM_SQL} {_FROM_SQL} "
               f"GROUP BY {expressions}")


def upgrade() -> None:
    op.create_table('daily_team_costs',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('team_id', sa.Uuid(), nullable=False),
    *_sum_columns(),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_daily_team_costs_team_id_teams'),
                            ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('day', 'team_id', name=op.f('pk_daily_team_costs'))
    )
    op.create_table('daily_model_costs',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('model_key', sa.String(length=255), nullable=False),
    *_sum_columns(),
    sa.PrimaryKeyConstraint('day', 'model_key', name=op.f('pk_daily_model_costs'))
    )
    op.create_table('daily_usage_costs',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('team_id', sa.Uuid(), nullable=False),
    sa.Column('model_key', sa.String(length=255), nullable=False),
    sa.Column('gpu_type_key', sa.String(length=64), nullable=False),
    sa.Column('provider_key', sa.String(length=64), nullable=False),
    *_sum_columns(),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_daily_usage_costs_team_id_teams'),
                            ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('day', 'team_id', 'model_key', 'gpu_type_key', 'provider_key',
                            name=op.f('pk_daily_usage_costs'))
    )
    with op.batch_alter_table('daily_usage_costs', schema=None) as batch_op:
        batch_op.create_index('ix_daily_usage_costs_team_id_day', ['team_id', 'day'], unique=False)

    _fill("daily_team_costs", {"day": "s.day", "team_id": "j.team_id"})
    _fill("daily_model_costs", {"day": "s.day", "model_key": "COALESCE(j.model_name, '')"})
    _fill("daily_usage_costs", {"day": "s.day", "team_id": "j.team_id", "model_key": "COALESCE(j.model_name, '')",
                                "gpu_type_key": "COALESCE(j.gpu_type, '')",
                                "provider_key": "COALESCE(j.provider, '')"})


def downgrade() -> None:
    with op.batch_alter_table('daily_usage_costs', schema=None) as batch_op:
        batch_op.drop_index('ix_daily_usage_costs_team_id_day')
    op.drop_table('daily_usage_costs')
    op.drop_table('daily_model_costs')
    op.drop_table('daily_team_costs')
