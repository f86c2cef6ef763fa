"""Rows for the storage tests, built with only the columns the schema requires."""

from __future__ import annotations

import uuid
from typing import Any

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
