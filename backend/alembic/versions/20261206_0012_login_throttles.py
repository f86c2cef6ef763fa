"""login_throttles: failed sign-ins per account, per client address and per (account, address), for throttling

One row per counted thing (`kind`, `key` = SHA-256 hex of it): failures in the current window, the window's
start, the lockout's end and the next lockout's length, all integer milliseconds since the epoch (UTC), and the
last failure (indexed: old rows are pruned by it). Types are written out, as in 0001.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | Sequence[str] | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('login_throttles',
    sa.Column('kind', sa.Enum('account', 'address', 'account_address', name='throttle_kind', native_enum=False,
                              create_constraint=True, length=16), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('window_start_ms', sa.BigInteger(), nullable=False),
    sa.Column('locked_until_ms', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('next_lockout_ms', sa.BigInteger(), nullable=False),
    sa.Column('last_failure_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'key', name=op.f('pk_login_throttles'))
    )
    with op.batch_alter_table('login_throttles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_throttles_last_failure_ms'), ['last_failure_ms'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('login_throttles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_throttles_last_failure_ms'))
    op.drop_table('login_throttles')
