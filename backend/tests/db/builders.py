"""Rows for the storage tests, built with only the columns the schema requires."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import CostSource, Job, JobStatus, Team
from app.db.models.team import team_name_key


def team(name: str) -> Team:
    return Team(id=uuid.uuid4(), name=name, name_key=team_name_key(name))


def job(job_id: str, owner: Team, **fields: Any) -> Job:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "job_id": job_id,
        "team_id": owner.id,
        "status": JobStatus.succeeded,
        "cost_source": CostSource.billed,
        "content_hash": "0" * 64,
    }
    values.update(fields)
    return Job(**values)


async def assert_refused_at_bind(session: AsyncSession, refused: Job, error: type[Exception]) -> None:
    """`refused` cannot be stored: its flush fails while binding a value (`error` from the column type, wrapped
    in SQLAlchemy's StatementError), inside a savepoint so the test's transaction goes on, and no row exists."""
    with pytest.raises(StatementError) as caught:
        async with session.begin_nested():
            session.add(refused)
            await session.flush()
    assert isinstance(caught.value.orig, error)
    stored = await session.execute(select(func.count()).select_from(Job).where(Job.job_id == refused.job_id))
    assert stored.scalar_one() == 0
