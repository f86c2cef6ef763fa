"""energy figures: per snapshot day and per job, and their sums in every rollup grain

`cost_snapshots` gains the day's energy (`energy_mwh`, of which `energy_measured_mwh` measured), carbon (`co2e_mg`,
of which `co2e_measured_mg` from measured energy), idle GPU time (`idle_gpu_us`), idle cost (`idle_cost_micros`) and
the GPU time whose utilisation is known (`util_gpu_us`), all BIGINT NOT NULL DEFAULT 0; every rollup grain their
sums in two parts (`<name>_hi`/`_lo`, as the amounts); `jobs` the job's totals, `energy_source` and
`energy_defaults`, null until computed. Existing jobs start with zeros and `energy_source` null: `jobcost energy
recompute` (which `jobcost demo` runs) computes them through the write path, rollups included (docs/energy.md).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | Sequence[str] | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SNAPSHOT_COLUMNS = ('energy_mwh', 'energy_measured_mwh', 'co2e_mg', 'co2e_measured_mg', 'idle_gpu_us',
                    'idle_cost_micros', 'util_gpu_us')
ROLLUP_COLUMNS = tuple(f'{name}_{part}' for name in ('energy', 'energy_measured', 'co2e', 'co2e_measured',
                                                     'idle_gpu', 'idle_cost', 'util_gpu') for part in ('hi', 'lo'))
ROLLUPS = ('daily_team_costs', 'daily_model_costs', 'daily_status_costs', 'daily_gpu_costs',
           'daily_team_status_costs', 'daily_team_gpu_costs', 'daily_team_model_costs', 'monthly_team_model_costs',
           'daily_usage_costs')
JOB_INTEGERS = ('energy_used_mwh', 'co2e_mg', 'idle_gpu_us', 'idle_cost_micros')
SOURCE_CHECK = "energy_source IN ('measured', 'estimated')"


def _zero(name: str) -> sa.Column:
    return sa.Column(name, sa.BigInteger(), server_default='0', nullable=False)


def upgrade() -> None:
    # Plain ADD COLUMN on both databases, never a batch: rebuilding `jobs` on SQLite would drop the old table and,
    # with foreign keys on, every cost snapshot with it (ON DELETE CASCADE).
    for name in SNAPSHOT_COLUMNS:
        op.add_column('cost_snapshots', _zero(name))
    for table in ROLLUPS:
        for name in ROLLUP_COLUMNS:
            op.add_column(table, _zero(name))
    for name in JOB_INTEGERS:
        op.add_column('jobs', sa.Column(name, sa.BigInteger(), nullable=True))
    if op.get_bind().dialect.name == 'sqlite':
        # A table constraint cannot be added in place on SQLite; a column constraint can.
        op.execute('ALTER TABLE jobs ADD COLUMN energy_source VARCHAR(16) '
                   f'CONSTRAINT ck_jobs_energy_source CHECK ({SOURCE_CHECK})')
    else:
        op.add_column('jobs', sa.Column('energy_source', sa.String(length=16), nullable=True))
        op.create_check_constraint(op.f('ck_jobs_energy_source'), 'jobs', SOURCE_CHECK)
    op.add_column('jobs', sa.Column('energy_defaults', sa.String(length=64), nullable=True))
    # A job's content hash now covers its figures: no stored hash can match, so the recompute (and any ingest of
    # the job) writes every job once. Cleared rather than left stale, so this holds after a downgrade too.
    op.execute("UPDATE jobs SET content_hash = ''")


def _drop(table: str, name: str) -> None:
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(f'ALTER TABLE {table} DROP COLUMN {name}')  # in place, no rebuild (see upgrade)
    else:
        op.drop_column(table, name)


def downgrade() -> None:
    for name in ('energy_defaults', 'energy_source', *JOB_INTEGERS):
        _drop('jobs', name)
    for table in ROLLUPS:
        for name in ROLLUP_COLUMNS:
            _drop(table, name)
    for name in SNAPSHOT_COLUMNS:
        _drop('cost_snapshots', name)
