"""`/jobs`: listing and reading jobs, each with its cost. Members see their teams' jobs only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from app.api.deps import INGEST_TOKEN_REFUSED, ScopeDep, SessionDep, single_valued_query
from app.api.errors import error_responses, problem_body
from app.jobs.schemas import JobDetailQuery, JobList, JobListQuery, JobRead
from app.jobs.service import JobQueryService

router = APIRouter(prefix="/jobs", tags=["jobs"], dependencies=[single_valued_query("status")])

_LIMIT_422 = problem_body(422, "validation-error", "Validation error", "Invalid request: query.limit", errors=[
    {"loc": ["query", "limit"], "msg": "Input should be less than or equal to 100", "type": "less_than_equal"}])
_TEAM_403 = problem_body(403, "forbidden", "Forbidden",
                         "You can read only your own teams' jobs and costs; team_id is not one of them")


@router.get("/", response_model=JobList, include_in_schema=False)  # `/jobs/?limit=5` lists too: not job id ""
@router.get(
    "",
    summary="List jobs",
    response_model=JobList,
    responses=error_responses(401, 403, 422, 503, descriptions={
        403: "A member filtered on a team (`team_id` or `team`) it does not belong to, or an ingest API token "
             "(it may only ingest)",
        422: "A parameter out of range (`1 ≤ limit ≤ 100`, `0 ≤ skip`), malformed, reversed (`started_before` "
             "before `started_after`), unknown, or given twice (only `status` repeats)",
    }, examples={403: _TEAM_403, 422: _LIMIT_422}),
)
async def list_jobs(query: Annotated[JobListQuery, Query()], scope: ScopeDep, session: SessionDep) -> JobList:
    """A page of jobs, newest start first: `started_at` descending, jobs that never started last, ties by
    `job_id`; the order is stable, so paging with `skip` neither loses nor repeats a job while none is ingested.
    `total` counts every job matching the same filters; `has_more` says whether another page follows.

    Each job carries its team, GPU-hours and cost (USD, 6-place decimal strings). Filters combine with AND.
    Admins see every team's jobs; members only their teams' (a filter on another team is a 403).
    """
    page = await JobQueryService(session, scope).list_jobs(query)
    return JobList(jobs=[JobRead.from_job(job) for job in page.jobs], total=page.total, skip=query.skip,
                   limit=query.limit, has_more=query.skip + len(page.jobs) < page.total)


@router.get(
    "/{job_id:path}",
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
