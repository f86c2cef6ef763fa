"""jobs: the list-order index in the collation the listing sorts by, on PostgreSQL

`GET /jobs` orders by `started_at DESC NULLS LAST, job_id COLLATE "C"` (code-point order on both databases), but
`ix_jobs_list_order` was built in the column's own collation. The orders differ, so PostgreSQL could read only
`started_at` from the index and sorted every tie group itself: an OFFSET of 99,900 took 141 ms against 15 ms for
the first page, and a keyset condition on `(started_at, job_id)` could not bound the scan by `job_id`
(PERFORMANCE.md, "Measured on the landed service"). Rebuilt with `job_id COLLATE "C"`, the index is the listing's
order exactly: first page, keyset pages and the CSV export read it in order with no sort at all.
SQLite sorts text by code point already and keeps using ix_jobs_started_at_job_id.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | Sequence[str] | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rebuild(job_id: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_jobs_list_order", table_name="jobs")
        op.create_index("ix_jobs_list_order", "jobs", [sa.text("started_at DESC NULLS LAST"), sa.text(job_id)],
                        unique=False)


def upgrade() -> None:
    _rebuild('job_id COLLATE "C"')


def downgrade() -> None:
    _rebuild("job_id")
