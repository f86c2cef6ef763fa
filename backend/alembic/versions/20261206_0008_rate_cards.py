"""rate cards: rates as the admin's data (custom, dated, retirable, `*` provider), aliases in the database, and
the log of price changes

`gpu_prices` gains `origin` (catalog|custom; every existing row came from the shipped file, so `catalog`),
`valid_to`, `note`, `created_by`, `retired_at`/`retired_by` and `closed_by_id`; `source`/`source_date` become
optional (custom rates have a note instead). The catalog key (provider, gpu_type, valid_from) stays unique for
catalog rates only, so a custom rate may start at the same instant as the catalog rate it overrides.
`name_aliases` holds GPU type and provider spellings (seeded from the shipped file at start, plus the admins');
`price_changes` records who changed what, when, before and after.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | Sequence[str] | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("CURRENT_TIMESTAMP")
CATALOG_ONLY = sa.text("origin = 'catalog'")


def _origin() -> sa.Enum:
    return sa.Enum('catalog', 'custom', name='rate_origin', native_enum=False, create_constraint=True, length=16)


def upgrade() -> None:
    with op.batch_alter_table('gpu_prices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('valid_to', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('origin', _origin(), server_default='catalog', nullable=False))
        batch_op.add_column(sa.Column('note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('created_by', sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('retired_by', sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column('closed_by_id', sa.Uuid(), nullable=True))
        batch_op.alter_column('source', existing_type=sa.Text(), nullable=True)
        batch_op.alter_column('source_date', existing_type=sa.Date(), nullable=True)
        batch_op.drop_constraint('uq_gpu_prices_provider_gpu_type_valid_from', type_='unique')
        batch_op.create_index('uq_gpu_prices_catalog_key', ['provider', 'gpu_type', 'valid_from'], unique=True,
                              postgresql_where=CATALOG_ONLY, sqlite_where=CATALOG_ONLY)
        batch_op.create_index('ix_gpu_prices_gpu_type_provider', ['gpu_type', 'provider'], unique=False)

    op.create_table('name_aliases',
    sa.Column('kind', sa.Enum('gpu_type', 'provider', name='alias_kind', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('spelling', sa.String(length=255), nullable=False),
    sa.Column('canonical', sa.String(length=64), nullable=False),
    sa.Column('origin', _origin(), server_default='catalog', nullable=False),
    sa.Column('created_by', sa.String(length=320), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=NOW, nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=NOW, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_name_aliases')),
    sa.UniqueConstraint('kind', 'spelling', name=op.f('uq_name_aliases_kind_spelling'))
    )
    op.create_table('price_changes',
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=NOW, nullable=False),
    sa.Column('actor', sa.String(length=320), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('rate_id', sa.Uuid(), nullable=True),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_price_changes'))
    )
    with op.batch_alter_table('price_changes', schema=None) as batch_op:
        batch_op.create_index('ix_price_changes_created_at_id', ['created_at', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('price_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_price_changes_created_at_id')
    op.drop_table('price_changes')
    op.drop_table('name_aliases')
    # Custom rates have no place in the old schema (its key is unique per provider, GPU type and start).
    op.execute("DELETE FROM gpu_prices WHERE origin <> 'catalog'")
    with op.batch_alter_table('gpu_prices', schema=None) as batch_op:
        batch_op.drop_index('ix_gpu_prices_gpu_type_provider')
        batch_op.drop_index('uq_gpu_prices_catalog_key', postgresql_where=CATALOG_ONLY, sqlite_where=CATALOG_ONLY)
        batch_op.create_unique_constraint('uq_gpu_prices_provider_gpu_type_valid_from',
                                          ['provider', 'gpu_type', 'valid_from'])
        batch_op.alter_column('source_date', existing_type=sa.Date(), nullable=False)
        batch_op.alter_column('source', existing_type=sa.Text(), nullable=False)
        batch_op.drop_column('closed_by_id')
        batch_op.drop_column('retired_by')
        batch_op.drop_column('retired_at')
        batch_op.drop_column('created_by')
        batch_op.drop_column('note')
        batch_op.drop_constraint(op.f('ck_gpu_prices_rate_origin'), type_='check')
        batch_op.drop_column('origin')
        batch_op.drop_column('valid_to')
