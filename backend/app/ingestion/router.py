"""`/admin/ingest/jobs`, `/admin/ingest/jobs/mock`, `/admin/jobs/{job_id}`: getting jobs in and out. Admin only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.exceptions import RequestValidationError

from app.api.deps import AdminUser, SessionDep, start_writing
from app.api.errors import error_responses, problem_body
from app.core.errors import ContentTooLargeError, UnsupportedMediaTypeError
from app.ingestion.mock import load_mock_jobs
from app.ingestion.normalize import JobIn
from app.ingestion.schemas import MAX_BATCH_JOBS, IngestReport
from app.ingestion.service import JobIngestionService
from app.ingestion.wire import JsonDecodeError, decode_json

router = APIRouter(prefix="/admin", tags=["ingestion"])

_EXAMPLE_BATCH = {
    "jobs": [
        {"job_id": "slurm-a:12345_7", "team": "nlp", "status": "COMPLETED", "model_name": "llama-3-8b-sft",
         "gpu_type": "H100", "gpu_count": 8, "provider": "aws", "user": "ada",
         "started_at": "2026-01-10T22:00:00Z", "ended_at": "2026-01-11T02:00:00Z"},
        {"job_id": "ft-0042", "team": "vision", "status": "succeeded", "model_name": "sdxl-lora",
         "gpu_type": "A100-80GB", "gpu_count": "0.5", "provider": "lambda",
         "started_at": "2026-01-11T09:00:00+01:00", "ended_at": "2026-01-11T10:30:00+01:00", "cost": "1.25"},
    ],
}
_REQUEST_BODY = {
    "required": True,
    "content": {"application/json": {
        "schema": {
            "type": "object", "required": ["jobs"], "additionalProperties": False,
            "properties": {"jobs": {"type": "array", "maxItems": MAX_BATCH_JOBS, "items": JobIn.model_json_schema()}},
        },
        "example": _EXAMPLE_BATCH,
    }},
}


def _invalid_envelope(loc: tuple[str | int, ...], msg: str, kind: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ("body", *loc), "msg": msg, "type": kind}])


async def _read_batch(request: Request) -> list[Any]:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaTypeError('Send the batch as application/json: {"jobs": [...]}')
    try:
        document = decode_json(await request.body())
    except JsonDecodeError as exc:
        raise _invalid_envelope((exc.position,), f"JSON decode error: {exc}", "json_invalid") from None
    if not isinstance(document, dict):
        raise _invalid_envelope((), 'The body must be an object: {"jobs": [...]}', "model_type")
    if "jobs" not in document:
        raise _invalid_envelope(("jobs",), "Field required", "missing")
    for key in document:
        if key != "jobs":
            raise _invalid_envelope((str(key),), "Extra inputs are not permitted", "extra_forbidden")
    jobs = document["jobs"]
    if not isinstance(jobs, list):
        raise _invalid_envelope(("jobs",), "Input should be a valid list", "list_type")
    if len(jobs) > MAX_BATCH_JOBS:
        raise ContentTooLargeError(
            f"A batch holds at most {MAX_BATCH_JOBS:,} jobs; this one has {len(jobs):,}: send it in parts")
    return jobs


@router.post(
    "/ingest/jobs",
    summary="Ingest a batch of jobs",
    response_model=IngestReport,
    openapi_extra={"requestBody": _REQUEST_BODY},
    responses=error_responses(400, 401, 403, 413, 415, 422, 503, descriptions={
        400: "Not JSON (or ambiguous JSON: duplicate keys, NaN, integers over 64 digits)",
        413: "Over 10,000 jobs, or a body over 16 MiB",
        415: "The body is not `application/json`",
        422: "The envelope is not `{\"jobs\": [...]}` (bad records are reported in the 200 response instead)",
        503: "The database is unreachable, or busy with another write past the wait allowed: retry after "
             "`Retry-After` seconds",
    }, examples={
        413: problem_body(413, "content-too-large", "Content too large",
                          "A batch holds at most 10,000 jobs; this one has 12,000: send it in parts"),
        422: problem_body(422, "validation-error", "Validation error", "Invalid request: body.jobs",
                          errors=[{"loc": ["body", "jobs"], "msg": "Field required", "type": "missing"}]),
    }),
)
async def ingest_jobs(request: Request, _: AdminUser, session: SessionDep) -> IngestReport:
    """Create, update or leave alone each job of `{"jobs": [...]}` by its `job_id`, and cost it per UTC day.

    Each record is checked on its own: a bad one is reported in `errors` (its 0-based `index`, `job_id`,
    `field` and why) and the good ones of the same batch are stored. Within a batch the last valid copy of a
    `job_id` wins (earlier ones count as `superseded`). A record identical to the stored job changes nothing,
    not even `updated_at` (`unchanged`). Costs: the record's billed `cost` (USD) spread over its run, else GPU-hours
    × the catalog price (`GET /api/v1/prices`) in force, else `unpriced` (GPU-hours kept, no cost invented).
    Numbers may be JSON numbers or decimal strings; both are read exactly. Admin only.
    """
    jobs = await _read_batch(request)
    await start_writing(session)
    return await JobIngestionService(session).ingest(jobs)


@router.post(
    "/ingest/jobs/mock",
    summary="Ingest the bundled demo jobs",
    response_model=IngestReport,
    responses=error_responses(401, 403, 503),
)
async def ingest_mock_jobs(_: AdminUser, session: SessionDep) -> IngestReport:
    """Ingest `mock_jobs.json` (30 jobs of 3 teams, 1–14 January 2026) through the same path as
    `POST /admin/ingest/jobs`. The file is fixed, so a second call reports all 30 `unchanged`. Admin only."""
    await start_writing(session)
    return await JobIngestionService(session).ingest(load_mock_jobs())


@router.delete(
    "/jobs/{job_id:path}",
    summary="Delete a job",
    status_code=204,
    response_class=Response,
    responses=error_responses(401, 403, 404, 422, 503, descriptions={404: "No job has this `job_id`"}, examples={
        404: problem_body(404, "not-found", "Not found", "No job with job_id 'slurm-a:12345_7'")}),
)
async def delete_job(
    job_id: Annotated[str, Path(description="The job's external id, as ingested (may contain `/`).",
                                examples=["slurm-a:12345_7"])],
    _: AdminUser, session: SessionDep,
) -> Response:
    """Delete the job with external id `job_id` (which may contain `/`) and its cost snapshots, so its cost
    leaves every analytics window. 204 on success, 404 when no job has that id. Admin only."""
    await start_writing(session)
    await JobIngestionService(session).delete_job(job_id)
    return Response(status_code=204)
