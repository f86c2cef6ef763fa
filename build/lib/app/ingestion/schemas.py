"""Shapes of the ingest endpoints: the request envelope and the report."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from app.ingestion.normalize import JobIn

MAX_BATCH_JOBS = 10_000


class IngestRequest(BaseModel):
    """`{"jobs": [JobIn, ...]}`, at most 10,000 jobs (and the request at most 16 MiB)."""

    jobs: list[JobIn] = Field(max_length=MAX_BATCH_JOBS)


class IngestError(BaseModel):
    """Why one record was refused. A record can have several, one per field."""

    index: int | None = Field(description="Where the record was: its 0-based position in `jobs` for a JSON "
                                           "body, its 1-based line number for an NDJSON body.", examples=[3])
    job_id: str | None = Field(description="The record's `job_id` as sent, when it was a string.",
                               examples=["slurm-a:12345_7"])
    field: str | None = Field(description="The field refused (`ended_at`); null when the record is not a JSON object.",
                              examples=["ended_at"])
    message: str = Field(examples=["is before started_at"])


class IngestReport(BaseModel):
    """What a batch did. `created + updated + unchanged + superseded + failed = received`."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"received": 2, "created": 1, "updated": 0, "unchanged": 0, "superseded": 0, "failed": 1, "teams_created": 0,
         "errors": [{"index": 1, "job_id": "slurm-a:12346", "field": "ended_at", "message": "is before started_at"}],
         "errors_omitted": 0}]})

    received: int = Field(description="Records in the batch.", examples=[4])
    created: int = Field(description="Jobs new to jobcost.", examples=[1])
    updated: int = Field(description="Known jobs whose record changed: stored again, snapshots replaced.",
                         examples=[1])
    unchanged: int = Field(description="Known jobs sent again identically: nothing written.", examples=[0])
    superseded: int = Field(description="Valid copies of a job_id that a later copy in the same batch replaced.",
                            examples=[1])
    failed: int = Field(description="Records refused; see `errors`.", examples=[1])
    teams_created: int = Field(description="Teams that did not exist before this batch.", examples=[0])
    errors: list[IngestError] = Field(
        description="Why records were refused, in record order; at most 1,000 entries.",
        examples=[[{"index": 3, "job_id": "neg-1", "field": "ended_at", "message": "is before started_at"}]])
    errors_omitted: int = Field(description="Error entries left out of `errors` past its 1,000.", examples=[0])
