"""job energy and efficiency: measured energy, GPU utilisation and region on `jobs`

Three optional columns, as a record carries them (issue 16): `energy_mwh` (measured energy of the whole job in
integer milliwatt-hours, 0 to 10,000,000 kWh), `gpu_util_bp` (mean GPU utilisation in ten-thousandths, 0..10,000)
and `region` (case-folded). Every existing job had none of them, so they start null; the content hash includes
them only when a record has one, so the stored hashes stay right and nothing needs rewriting.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | Sequence[str] | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MAX_ENERGY_MWH = 10_000_000 * 1_000_000  # 10,000,000 kWh (app.db.models.job.MAX_ENERGY_MWH, frozen here)


_CHECKS = {
    'energy_mwh': ('BIGINT', sa.BigInteger(), f'energy_mwh >= 0 AND energy_mwh <= {MAX_ENERGY_MWH}'),
    'gpu_util_bp': ('SMALLINT', sa.SmallInteger(), 'gpu_util_bp >= 0 AND gpu_util_bp <= 10000'),
}


def upgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        # SQLite cannot add a table constraint without rebuilding `jobs` (what a batch would do), and the rebuild
        # drops the old table, which with foreign keys on deletes every cost snapshot (ON DELETE CASCADE). Column
        # constraints can be added in place, so the columns carry them.
        for name, (kind, _, check) in _CHECKS.items():
            op.execute(f'ALTER TABLE jobs ADD COLUMN {name} {kind} CONSTRAINT ck_jobs_{name}_range CHECK ({check})')
        op.execute('ALTER TABLE jobs ADD COLUMN region VARCHAR(64)')
        return
    for name, (_, kind, check) in _CHECKS.items():
        op.add_column('jobs', sa.Column(name, kind, nullable=True))
        op.create_check_constraint(op.f(f'ck_jobs_{name}_range'), 'jobs', check)
    op.add_column('jobs', sa.Column('region', sa.String(length=64), nullable=True))


def downgrade() -> None:
    # Dropping a column drops its constraints on both databases (and, on SQLite, in place: no rebuild, see above).
    for name in ('region', 'gpu_util_bp', 'energy_mwh'):
        if op.get_bind().dialect.name == 'sqlite':
            op.execute(f'ALTER TABLE jobs DROP COLUMN {name}')
        else:
            op.drop_column('jobs', name)
