"""`/jobs`: listing and reading jobs, each with its cost. Members see their teams' jobs only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import ValidationError

from app.api.deps import (
    INGEST_TOKEN_REFUSED,
    ScopeDep,
    SessionDep,
    SessionFactoryDep,
    SettingsDep,
    single_valued_query,
)
from app.api.errors import error_responses, problem_body
from app.api.negotiation import wants_csv
from app.api.paths import JOB_ID
from app.auth.schemas import TeamRef
from app.jobs.csv_export import CSV_COLUMNS, csv_filename, csv_stream
from app.jobs.cursor import CursorCodec
from app.jobs.schemas import JobDetailQuery, JobList, JobListQuery, JobRead
from app.jobs.service import JobExport, JobQueryService

router = APIRouter(prefix="/jobs", tags=["jobs"], dependencies=[single_valued_query("status", "label")])

_LIMIT_422 = problem_body(422, "validation-error", "Validation error", "Invalid request: query.limit", errors=[
    {"loc": ["query", "limit"], "msg": "Input should be less than or equal to 100", "type": "less_than_equal"}])
_TEAM_403 = problem_body(403, "forbidden", "Forbidden",
                         "You can read only your own teams' jobs and costs; team_id is not one of them")
_CSV_EXAMPLE = (",".join(name for name, _ in CSV_COLUMNS) + "\r\n"
                "sagemaker:llama3-8b-sft-0103,411d3703-8637-46e8-be6c-1de8b6259533,NLP Research,failed,"
                "llama-3-8b-sft,H100,8,aws,ada,2026-01-03T21:40:00Z,2026-01-03T22:00:00Z,2026-01-04T01:15:00Z,,"
                "26.000000,178.880000,,estimated,USD,\"{\"\"project\"\":\"\"assistant\"\"}\","
                "ffe67f91-684b-4a3a-81ae-c6a9e55a058e,2026-11-29T21:37:19.877593Z,2026-11-29T21:37:19.877593Z\r\n")


def _shown(row: Any) -> JobRead:
    return JobRead.from_record(row, TeamRef(id=row.team_id, name=row.team_name))


async def _shown_batches(export: JobExport, sessions: Any) -> AsyncIterator[list[JobRead]]:
    async for rows in export.batches(sessions):
        yield [_shown(row) for row in rows]


@router.get("/", response_model=JobList, include_in_schema=False)  # `/jobs/?limit=5` lists too: not job id ""
@router.get(
    "",
    summary="List jobs (JSON pages, or every job as CSV)",
    response_model=JobList,
    responses={200: {"description": "A page of jobs (JSON), or with `format=csv` every matching job (CSV)",
                     "content": {"text/csv": {"schema": {"type": "string"}, "example": _CSV_EXAMPLE}}}}
    | error_responses(401, 403, 422, 503, descriptions={
        403: "A member filtered on a team (`team_id` or `team`) it does not belong to, or an ingest API token "
             "(it may only ingest)",
        422: "A parameter out of range (`1 ≤ limit ≤ 100`, `0 ≤ skip`), malformed (a `label` not `KEY:VALUE`, a "
             "`sort` not one of the six orders), "
             "reversed (`started_before` before `started_after`), unknown, or given twice (only `status` and "
             "`label` repeat); a `cursor` that is malformed, altered, or reused with other filters, another sort or "
             "`skip`; paging parameters with `format=csv`",
    }, examples={403: _TEAM_403, 422: _LIMIT_422}),
)
async def list_jobs(query: Annotated[JobListQuery, Query()], scope: ScopeDep, session: SessionDep,
                    settings: SettingsDep, sessions: SessionFactoryDep,
                    accept: Annotated[str | None, Header(include_in_schema=False)] = None) -> Response:
    """A page of jobs, newest start first: `started_at` descending, jobs that never started last, ties by
    `job_id` (by code point). `sort` picks another order: `started_at`, `cost` or `gpu_hours`, ascending, or
    descending with a leading `-`; jobs without the value (never started, unpriced) last either way, ties by
    `job_id`; cursors and the CSV follow it. Filters combine with AND; `status` and `label` repeat (OR within one
    label key). Admins see every team's jobs; members only their teams' (a filter on another team is a 403). Each
    job carries its team, GPU-hours and cost (USD, 6-place decimal strings).

    **Paging.** Every page has `next_cursor` (null on the last page): pass it as `cursor` (with the same
    filters; `limit` may change) for the next page. Cursor pages are keyset reads, as fast on page 2,000 as on
    page 1, and following them never skips or repeats a job while jobs are ingested: a job added meanwhile shows
    up if it sorts after the cursor. A job whose `started_at` changes while you page (a queued job that starts)
    moves in the order, and is listed where it stands when the walk reaches it: seen twice or not at all if it
    jumps across the cursor. `skip`/`limit` paging works as before, but costs as much as all the pages before it.

    **`total`** is exact: counted on `skip` pages (the first page included) and, on cursor pages, only with
    `include_total=true` (a count reads every matching job); otherwise null. `has_more` says whether another page
    follows.

    **CSV.** `format=csv` (or `Accept: text/csv`) streams every matching job, in the same order, as CSV with a
    header row: the JSON's values as the same strings, `labels` as a JSON object, empty fields for null
    (columns in the README). `Content-Disposition: attachment; filename="jobcost-jobs-<UTC instant>.csv"`.
    """
    service = JobQueryService(session, scope, cursors=CursorCodec(settings.secret_key.get_secret_value()))
    if wants_csv(query.format, accept):
        if query.format is None:  # asked by Accept: paging parameters are refused as with format=csv
            try:
                query.refuse_paging_for_csv()
            except ValidationError as error:
                raise RequestValidationError([{**e, "loc": ("query", *e["loc"])} for e in error.errors()]) from None
        export = await service.export(query)
        return StreamingResponse(csv_stream(_shown_batches(export, sessions)), media_type="text/csv; charset=utf-8",
                                 headers={"Content-Disposition": f'attachment; filename="{csv_filename()}"'})
    page = await service.list_jobs(query)
    body = JobList(jobs=[_shown(row) for row in page.jobs], total=page.total,
                   skip=None if query.cursor is not None else query.skip, limit=query.limit,
                   has_more=page.has_more, next_cursor=page.next_cursor)
    # Built and checked here: returned through `response_model`, FastAPI would validate the whole page again.
    return Response(body.model_dump_json(), media_type="application/json")


@router.get(
    f"/{JOB_ID}",
    summary="Get a job",
    response_model=JobRead,
    responses=error_responses(401, 404, 422, 503, descriptions={
        404: "No job has this `job_id`, or it belongs to a team the caller cannot read",
        422: "`include` is not `snapshots`, or an unknown parameter",
    }, examples={
        404: problem_body(404, "not-found", "Not found", "No job with job_id 'slurm-a:12345_7'"),
        422: problem_body(422, "validation-error", "Validation error", "Invalid request: query.include", errors=[
            {"loc": ["query", "include"], "msg": "Input should be 'snapshots'", "type": "literal_error"}]),
    }) | INGEST_TOKEN_REFUSED,
)
async def get_job(
    job_id: Annotated[str, Path(description="The job's external id, as ingested (may contain `/`).",
                                examples=["slurm-a:12345_7"])],
    query: Annotated[JobDetailQuery, Query()], scope: ScopeDep, session: SessionDep,
) -> JobRead:
    """One job by its external `job_id`, with its team, GPU-hours and cost (USD), and with
    `?include=snapshots` its cost per UTC day (`[{day, gpu_hours, cost}]`, by day; they sum to the job's cost
    exactly). A job of a team the caller cannot read is a 404, like a missing one.
    """
    job, snapshots = await JobQueryService(session, scope).get_job(
        job_id, with_snapshots=query.include == "snapshots")
    return JobRead.from_job(job, snapshots)
