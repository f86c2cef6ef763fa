"""Shapes of recosting on the wire: the report of a recost, an operation, and `POST /admin/prices/recost`."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.core.money import GpuHours, Usd
from app.db.models import Operation, OperationState
from app.recost.service import RecostReport

REPORT_EXAMPLE = {"jobs_recosted": 1200, "jobs_read": 1250, "cost_before": "0.000000", "cost_after": "50400.000000",
                  "unpriced_gpu_hours_before": "24000.000000", "unpriced_gpu_hours_after": "0.000000"}


class RecostReportRead(BaseModel):
    """What a recost did over the non-billed jobs in scope (billed jobs never change)."""

    model_config = ConfigDict(json_schema_extra={"examples": [REPORT_EXAMPLE]})

    jobs_recosted: int = Field(description="Jobs whose cost changed (their total, or whether they are priced).")
    jobs_read: int = Field(description="Jobs in scope, read whether or not their cost changed.")
    cost_before: Usd = Field(description="USD: the jobs in scope, summed, before (unpriced jobs count 0).")
    cost_after: Usd = Field(description="USD: the same jobs, summed, after.")
    unpriced_gpu_hours_before: GpuHours = Field(description="GPU-hours of the jobs in scope that had no price.")
    unpriced_gpu_hours_after: GpuHours = Field(description="GPU-hours of the jobs in scope that have none now.")

    @classmethod
    def of(cls, report: RecostReport) -> RecostReportRead:
        return cls(jobs_recosted=report.jobs_recosted, jobs_read=report.jobs_read, cost_before=report.cost_before,
                   cost_after=report.cost_after, unpriced_gpu_hours_before=report.unpriced_gpu_hours_before,
                   unpriced_gpu_hours_after=report.unpriced_gpu_hours_after)


class OperationProgress(BaseModel):
    done: int = Field(description="Jobs done so far.")
    total: int = Field(description="Jobs in scope when the operation began (jobs ingested meanwhile add to it).")


class OperationRead(BaseModel):
    """Long work run by the server: poll `GET /api/v1/operations/{id}` until `state` is not `running`."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "0b5c9f0e-8f3a-4d83-9a55-2f6f2b1e7c11", "kind": "recost", "state": "succeeded",
        "progress": {"done": 1250, "total": 1250}, "result": REPORT_EXAMPLE, "error": None,
        "created_by": "admin@example.com", "created_at": "2026-12-06T01:00:00Z",
        "finished_at": "2026-12-06T01:00:42Z"}]})

    id: uuid.UUID
    kind: str = Field(examples=["recost"])
    state: OperationState
    progress: OperationProgress
    result: RecostReportRead | None = Field(description="The report, once `succeeded`.")
    error: str | None = Field(description="Why it failed, once `failed` (start it again: recosting is idempotent).")
    created_by: str | None
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, operation: Operation) -> OperationRead:
        result: dict[str, Any] = operation.result or {}
        progress = operation.progress or {}
        return cls(id=operation.id, kind=operation.kind, state=operation.state,
                   progress=OperationProgress(done=progress.get("done", 0), total=progress.get("total", 0)),
                   result=None if "error" in result or not result else RecostReportRead.model_validate(result),
                   error=result.get("error"), created_by=operation.created_by, created_at=operation.created_at,
                   finished_at=operation.finished_at)


class RecostRequest(BaseModel):
    """Recost the history on demand: every non-billed job whose run reaches `since` (all of them without it)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"since": "2026-01-01"}, {}]})

    since: date | None = Field(default=None, description="A UTC day: jobs whose run reaches its midnight or later.")


class RecostAnswer(BaseModel):
    """A recost's answer: `recost` (the report) when it ran at once (200), `operation` when it runs as one
    (202, with `Location: /api/v1/operations/{id}`)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"recost": REPORT_EXAMPLE, "operation": None}]})

    recost: RecostReportRead | None = None
    operation: OperationRead | None = None
