"""read tokens: API tokens of scope `read`, optionally limited to a list of teams

`api_tokens.scope` allows `read` besides `ingest` (the CHECK is rebuilt); `api_tokens.limited_to_teams` says
whether the token reads only the teams listed in the new `api_token_teams` (true) or every team (false, and
always false for ingest tokens). Types are written out, as in 0001.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | Sequence[str] | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _scope(*values: str) -> sa.Enum:
    return sa.Enum(*values, name='token_scope', native_enum=False, create_constraint=True, length=16)


def _set_scopes(old: tuple[str, ...], new: tuple[str, ...]) -> None:
    """Make the CHECK on `api_tokens.scope` allow exactly `new`: SQLite rebuilds the table with the column's new
    type (and so its new CHECK); PostgreSQL replaces the named constraint."""
    if op.get_bind().dialect.name == 'sqlite':
        with op.batch_alter_table('api_tokens', schema=None) as batch_op:
            batch_op.alter_column('scope', existing_type=_scope(*old), type_=_scope(*new), existing_nullable=False)
        return
    name = op.f('ck_api_tokens_token_scope')
    op.drop_constraint(name, 'api_tokens', type_='check')
    op.create_check_constraint(name, 'api_tokens', sa.column('scope').in_(new))


def upgrade() -> None:
    _set_scopes(('ingest',), ('ingest', 'read'))
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('limited_to_teams', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table('api_token_teams',
    sa.Column('token_id', sa.Uuid(), nullable=False),
    sa.Column('team_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_api_token_teams_team_id_teams'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['token_id'], ['api_tokens.id'], name=op.f('fk_api_token_teams_token_id_api_tokens'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_id', 'team_id', name=op.f('pk_api_token_teams'))
    )
    with op.batch_alter_table('api_token_teams', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_token_teams_team_id'), ['team_id'], unique=False)


def downgrade() -> None:
    # Read tokens cannot outlive the scope they need: they are removed with it.
    op.drop_table('api_token_teams')
    op.execute("DELETE FROM api_tokens WHERE scope = 'read'")
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('limited_to_teams')
    _set_scopes(('ingest', 'read'), ('ingest',))
