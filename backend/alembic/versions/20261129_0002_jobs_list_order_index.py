"""jobs: an index in the order of the job list, on PostgreSQL

`GET /jobs` orders by `started_at DESC NULLS LAST, job_id COLLATE "C"`; without an index in that order PostgreSQL
sorts the whole filtered table for every page (about 130 ms at 100,000 jobs, bench/read_paths.py); with it, it
reads the index in order and sorts only ties on started_at (incremental sort). SQLite cannot
declare NULLS LAST in an index and needs none: it reads this order from ix_jobs_started_at_job_id.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_index("ix_jobs_list_order", "jobs",
                        [sa.text("started_at DESC NULLS LAST"), "job_id"], unique=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_jobs_list_order", table_name="jobs")
