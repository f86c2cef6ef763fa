"""operations: long work (a recost of many jobs) run by a task of the server and polled over the API

One row per operation: its kind, state (running → succeeded | failed), progress and result as JSON, who started
it, when, the task's last heartbeat (a running operation whose heartbeat is stale was left by a dead process and
is marked failed) and when it finished. Types are written out, as in 0001.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | Sequence[str] | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("CURRENT_TIMESTAMP")


def upgrade() -> None:
    op.create_table('operations',
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('state', sa.Enum('running', 'succeeded', 'failed', name='operation_state', native_enum=False,
                               create_constraint=True, length=16), nullable=False),
    sa.Column('progress', sa.JSON(), server_default='{}', nullable=False),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('created_by', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=NOW, nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), server_default=NOW, nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operations'))
    )
    op.create_index(op.f('ix_operations_state'), 'operations', ['state'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_operations_state'), table_name='operations')
    op.drop_table('operations')
