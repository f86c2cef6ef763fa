"""initial schema: teams, users, team membership, jobs, cost snapshots, gpu prices

Types are written out (BigInteger for micro-USD money, DateTime(timezone=True) for UTC instants) rather than
imported from app.db.types, so this file stays valid whatever the application's types become.

Revision ID: 0001
Revises: 
Create Date: 2026-11-29
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0001'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("CURRENT_TIMESTAMP")


def upgrade() -> None:
    op.create_table('gpu_prices',
    sa.Column('provider', sa.String(length=64), nullable=False),
    sa.Column('gpu_type', sa.String(length=64), nullable=False),
    sa.Column('usd_per_gpu_hour_micros', sa.BigInteger(), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('source_date', sa.Date(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=NOW, nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=NOW, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gpu_prices')),
    sa.UniqueConstraint('provider', 'gpu_type', 'valid_from', name=op.f('uq_gpu_prices_provider_gpu_type_valid_from'))
    )
    op.create_table('teams',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('name_key', sa.String(length=255), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=NOW, nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=NOW, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_teams')),
    sa.UniqueConstraint('name_key', name=op.f('uq_teams_name_key'))
    )
    op.create_table('users',
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('hashed_password', sa.String(length=255), nullable=False),
    sa.Column('role', sa.Enum('admin', 'member', name='role', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('token_generation', sa.Integer(), server_default='0', nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=NOW, nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=NOW, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_table('jobs',
    sa.Column('job_id', sa.String(length=255), nullable=False),
    sa.Column('team_id', sa.Uuid(), nullable=False),
    sa.Column('user_name', sa.String(length=255), nullable=True),
    sa.Column('model_name', sa.String(length=255), nullable=True),
    sa.Column('gpu_type', sa.String(length=64), nullable=True),
    sa.Column('gpu_milli', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('provider', sa.String(length=64), nullable=True),
    sa.Column('status', sa.Enum('queued', 'running', 'succeeded', 'failed', 'cancelled', 'preempted', name='job_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('observed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('billed_cost_micros', sa.BigInteger(), nullable=True),
    sa.Column('cost_micros', sa.BigInteger(), nullable=True),
    sa.Column('gpu_us', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('cost_source', sa.Enum('billed', 'estimated', 'unpriced', name='cost_source', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('labels', sa.JSON(), server_default='{}', nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=NOW, nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=NOW, nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_jobs_team_id_teams'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs')),
    sa.UniqueConstraint('job_id', name=op.f('uq_jobs_job_id'))
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_jobs_model_name'), ['model_name'], unique=False)
        batch_op.create_index('ix_jobs_started_at_job_id', ['started_at', 'job_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_jobs_team_id'), ['team_id'], unique=False)

    op.create_table('team_members',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('team_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_team_members_team_id_teams'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_team_members_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'team_id', name=op.f('pk_team_members'))
    )
    with op.batch_alter_table('team_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_team_members_team_id'), ['team_id'], unique=False)

    op.create_table('cost_snapshots',
    sa.Column('job_pk', sa.Uuid(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('run_ms', sa.BigInteger(), nullable=False),
    sa.Column('gpu_us', sa.BigInteger(), nullable=False),
    sa.Column('cost_micros', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['job_pk'], ['jobs.id'], name=op.f('fk_cost_snapshots_job_pk_jobs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('job_pk', 'day', name=op.f('pk_cost_snapshots'))
    )
    with op.batch_alter_table('cost_snapshots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cost_snapshots_day'), ['day'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('cost_snapshots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cost_snapshots_day'))

    op.drop_table('cost_snapshots')
    with op.batch_alter_table('team_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_team_members_team_id'))

    op.drop_table('team_members')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_jobs_team_id'))
        batch_op.drop_index('ix_jobs_started_at_job_id')
        batch_op.drop_index(batch_op.f('ix_jobs_model_name'))

    op.drop_table('jobs')
    op.drop_table('users')
    op.drop_table('teams')
    op.drop_table('gpu_prices')
