"""`GET /export/focus`: the cost of a window of UTC days as a FOCUS 1.2 cost-and-usage CSV (docs/focus-export.md)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from app.api.deps import (
    Reader,
    ReaderDep,
    SessionDep,
    SessionFactoryDep,
    SettingsDep,
    recheck_reader,
    single_valued_query,
)
from app.api.errors import error_responses, problem_body
from app.core.errors import ForbiddenError
from app.db.models import Role
from app.export import focus
from app.export.schemas import FocusWindow
from app.export.service import FocusExportService

router = APIRouter(prefix="/export", tags=["export"])

_EXAMPLE_ROW = focus.SnapshotRow(
    day=date(2026, 1, 5), job_id="nlp-001", team_id=uuid.UUID("0b7e7c52-8f0a-4f4e-9d7e-3c1b2a000001"),
    team_name="NLP Research", model_name="llama-3-8b-ft", user_name="ana", gpu_type="H100", gpu_milli=8000,
    provider="aws", status="succeeded", cost_source="estimated", cost=Decimal("313.600000"),
    gpu_us=32 * 3_600_000_000)
_CSV_EXAMPLE = focus.header_line() + focus.focus_lines([_EXAMPLE_ROW])
_422 = problem_body(422, "validation-error", "Validation error", "Invalid request: query.end", errors=[
    {"loc": ["query", "end"], "msg": "must not be before start (end is the last day included)",
     "type": "window_reversed"}])


async def require_exporter(reader: ReaderDep) -> Reader:
    """The caller of an export: an admin or a read API token; 403 for a member. A dependency, not a check in the
    endpoint, so that the 403 comes before any 422 about the query (401, then 403, then the query)."""
    if reader.user is not None and reader.user.role is not Role.admin:
        raise ForbiddenError("Exporting needs the admin role or a read API token")
    return reader


ExporterDep = Annotated[Reader, Depends(require_exporter)]


@router.get(
    "/focus",
    summary="Cost as a FOCUS 1.2 CSV",
    response_class=StreamingResponse,
    dependencies=[single_valued_query(caller=ExporterDep)],
    responses={200: {"description": "FOCUS 1.2 cost-and-usage rows, one per job and UTC day, as CSV",
                     "content": {"text/csv": {"schema": {"type": "string"}, "example": _CSV_EXAMPLE}}}}
    | error_responses(401, 403, 422, 503, descriptions={
        403: "A member (exports are for admins and read API tokens), or an ingest API token",
        422: "`start` or `end` missing, not YYYY-MM-DD or not a real date, `end` before `start`, a window over "
             "366 days, a parameter given twice, or an unknown one"}, examples={422: _422}),
)
async def export_focus(window: Annotated[FocusWindow, Query()], reader: ExporterDep, session: SessionDep,
                       sessions: SessionFactoryDep, settings: SettingsDep) -> StreamingResponse:
    """Every job's cost on every UTC day of the window (`start` to `end`, both included, at most 366 days) as a
    FOCUS 1.2 cost-and-usage CSV: one row per job and day, from the cost snapshots (the figures analytics sums),
    ordered by day. Costs are USD (6 places): the billed cost as billed, or GPU-hours × the rate card's on-demand
    price; an unpriced job's rows carry 0 and `x_CostSource=unpriced`. Quantities are GPU-hours. The columns,
    and where each value comes from, are in docs/focus-export.md.

    Streamed (one batch of rows in memory at a time), with
    `Content-Disposition: attachment; filename="jobcost-focus-1.2_<start>_<end>.csv"`.

    **Who**: an admin (every team), or a read API token (`jobcost tokens create --scope read [--team …]`: every
    team, or only its teams' rows). Members are refused (403): finance exports are an admin's or a BI tool's.
    A read token revoked or expired while its export streams stops it before the next batch of 2,000 rows: the
    transfer is cut short (the client sees an incomplete response, never a file that looks whole).
    """
    export = await FocusExportService(session, reader.scope).export(window.start, window.end)
    name = focus.file_name(window.start, window.end)
    chunks = export.csv_chunks(sessions, recheck=lambda s: recheck_reader(s, settings, reader))
    return StreamingResponse(chunks, media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{name}"'})
