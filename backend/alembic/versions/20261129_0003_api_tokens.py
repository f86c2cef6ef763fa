"""api_tokens: long-lived, scoped API tokens (`jobcost tokens create --scope ingest`)

A token is a signed JWT whose `jti` is a row of this table; the row holds no secret, only what lets the server
refuse the token early: its expiry and its revocation. Types are written out, as in 0001.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | Sequence[str] | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("CURRENT_TIMESTAMP")


def upgrade() -> None:
    op.create_table('api_tokens',
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('scope', sa.Enum('ingest', name='token_scope', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=NOW, nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=NOW, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens'))
    )


def downgrade() -> None:
    op.drop_table('api_tokens')
