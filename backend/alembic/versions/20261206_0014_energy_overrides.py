"""energy coefficient overrides: the admins' figures laid over the shipped file, and their change log

`energy_coefficient_overrides` holds one figure per key: a GPU type's idle and full-load milliwatts (`gpu`), a
provider's PUE in thousandths (`pue`), a (provider, region)'s grid intensity in mg CO2e/kWh (`grid`); unused key
parts are `''` so the unique key holds on both databases. `energy_coefficient_changes` records who set or unset
what, when, and the figures before and after (docs/energy.md, "Overriding the coefficients").

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | Sequence[str] | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("CURRENT_TIMESTAMP")
FIGURES = ("(kind = 'gpu' AND idle_mw IS NOT NULL AND full_mw IS NOT NULL AND idle_mw <= full_mw) "
           "OR (kind = 'pue' AND pue_milli IS NOT NULL) "
           "OR (kind = 'grid' AND mg_per_kwh IS NOT NULL)")


def _kind() -> sa.Enum:
    return sa.Enum('gpu', 'pue', 'grid', name='coefficient_kind', native_enum=False, create_constraint=True,
                   length=8)


def _key() -> list[sa.Column]:
    return [sa.Column('kind', _kind(), nullable=False),
            sa.Column('provider', sa.String(length=64), nullable=False),
            sa.Column('gpu_type', sa.String(length=64), nullable=False),
            sa.Column('region', sa.String(length=64), nullable=False)]


def upgrade() -> None:
    op.create_table('energy_coefficient_overrides',
    *_key(),
    sa.Column('idle_mw', sa.BigInteger(), nullable=True),
    sa.Column('full_mw', sa.BigInteger(), nullable=True),
    sa.Column('pue_milli', sa.BigInteger(), nullable=True),
    sa.Column('mg_per_kwh', sa.BigInteger(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=320), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=NOW, nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=NOW, nullable=False),
    sa.CheckConstraint(FIGURES, name=op.f('ck_energy_coefficient_overrides_figures')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_energy_coefficient_overrides')),
    sa.UniqueConstraint('kind', 'provider', 'gpu_type', 'region',
                        name=op.f('uq_energy_coefficient_overrides_kind_provider_gpu_type_region'))
    )
    op.create_table('energy_coefficient_changes',
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=NOW, nullable=False),
    sa.Column('actor', sa.String(length=320), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    *_key(),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_energy_coefficient_changes'))
    )
    with op.batch_alter_table('energy_coefficient_changes', schema=None) as batch_op:
        batch_op.create_index('ix_energy_coefficient_changes_created_at_id', ['created_at', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('energy_coefficient_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_energy_coefficient_changes_created_at_id')
    op.drop_table('energy_coefficient_changes')
    op.drop_table('energy_coefficient_overrides')
