"""F28: rows written outside the ORM (raw SQL, psql repairs) get their defaults from the database itself, and the
ORM reads them back as it would its own: aware UTC timestamps, zero counters, empty labels."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import Uuid, bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Job, Team

# PostgreSQL's CURRENT_TIMESTAMP is the start of the (test-long) transaction; minutes only rule out a wrong
# zone (hours) or a missing value, without timing anything.
SLACK = timedelta(minutes=5)


def assert_recent_utc(value: datetime | None, before: datetime, after: datetime) -> None:
    assert value is not None
    assert value.tzinfo is not None and value.utcoffset() == timedelta(0), value
    assert before - SLACK <= value <= after + SLACK, (before, value, after)


async def test_raw_inserts_get_database_defaults(session: AsyncSession, process_zone: str) -> None:
    before = datetime.now(UTC)
    team_pk, job_pk = uuid.uuid4(), uuid.uuid4()
    await session.execute(
        text("INSERT INTO teams (id, name, name_key) VALUES (:id, 'Raw Team', 'raw team')")
        .bindparams(bindparam("id", type_=Uuid)),
        {"id": team_pk},
    )
    await session.execute(
        text("INSERT INTO jobs (id, job_id, team_id, status, cost_source, content_hash) "
             "VALUES (:id, 'raw-job', :team_id, 'succeeded', 'unpriced', :hash)")
        .bindparams(bindparam("id", type_=Uuid), bindparam("team_id", type_=Uuid)),
        {"id": job_pk, "team_id": team_pk, "hash": "f" * 64},
    )
    after = datetime.now(UTC)

    team = await session.get(Team, team_pk)
    assert team is not None
    assert_recent_utc(team.created_at, before, after)
    assert_recent_utc(team.updated_at, before, after)

    job = await session.get(Job, job_pk)
    assert job is not None
    assert_recent_utc(job.created_at, before, after)
    assert_recent_utc(job.updated_at, before, after)
    assert job.gpu_milli == 0
    assert job.gpu_us == 0
    assert job.labels == {}
    assert job.cost is None and job.billed_cost is None
