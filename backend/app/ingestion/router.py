"""`/admin/ingest/jobs`, `/admin/ingest/jobs/mock`, `/admin/jobs/{job_id}`: getting jobs in and out. Admin only;
the two ingest routes also take an ingest API token (`jobcost tokens create --scope ingest`)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Path, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.requests import ClientDisconnect

from app.api.deps import (
    AdminUser,
    IngestCaller,
    SessionDep,
    SettingsDep,
    recheck_ingest_caller,
    release_connection,
    start_writing,
)
from app.api.errors import error_responses, problem_body
from app.api.paths import JOB_ID
from app.budgets.runner import schedule_after_ingest
from app.core.errors import AppError, ContentTooLargeError, UnsupportedMediaTypeError
from app.ingestion import ndjson, pipeline
from app.ingestion.mock import load_mock_jobs
from app.ingestion.normalize import JobIn
from app.ingestion.schemas import MAX_BATCH_JOBS, IngestReport
from app.ingestion.service import JobIngestionService, PreparedBatch
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
# Who may call the two ingest routes, for their OpenAPI entries.
_INGEST_AUTH = {
    401: "Missing, malformed, expired or forged bearer token, or a revoked or expired ingest API token",
    403: "A member's token: ingesting takes an admin's token or an ingest API token",
}
_EXAMPLE_NDJSON = "".join(json.dumps(record) + "\n" for record in _EXAMPLE_BATCH["jobs"])
_REQUEST_BODY = {
    "required": True,
    "description": "Either `application/json`, `{\"jobs\": [...]}` (at most 10,000 jobs and 16 MiB), or "
                   "`application/x-ndjson`: one job record per line, any number of lines "
                   "(`application/ndjson`, `application/jsonl` and `application/x-jsonlines` are read the same way).",
    "content": {
        "application/json": {
            "schema": {
                "type": "object", "required": ["jobs"], "additionalProperties": False,
                "properties": {"jobs": {"type": "array", "maxItems": MAX_BATCH_JOBS,
                                        "items": JobIn.model_json_schema()}},
            },
            "example": _EXAMPLE_BATCH,
        },
        "application/x-ndjson": {
            "schema": {
                "type": "string",
                "description": "One `JobIn` object per line, UTF-8, each line ended by a newline (LF or CRLF; the "
                               "last may lack it). Blank lines are skipped and not counted. Any number of lines, "
                               f"each at most {ndjson.MAX_LINE_BYTES // (1024 * 1024)} MiB. Committed "
                               f"{ndjson.CHUNK_LINES:,} lines at a time; `index` in `errors` is the 1-based line "
                               "number.",
            },
            "example": _EXAMPLE_NDJSON,
        },
    },
}
_UNSUPPORTED = ('Send the batch as application/json, {"jobs": [...]}, or as application/x-ndjson, one job per '
                'line')


def _invalid_envelope(loc: tuple[str | int, ...], msg: str, kind: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ("body", *loc), "msg": msg, "type": kind}])


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def _read_batch(request: Request, media_type: str) -> list[Any]:
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaTypeError(_UNSUPPORTED)
    try:
        body = await request.body()
    except ClientDisconnect:
        raise AppError("The request body ended early (the client disconnected); nothing was stored") from None
    try:
        document = decode_json(body)
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
        **_INGEST_AUTH,
        400: "A JSON body that is not JSON (or ambiguous JSON: duplicate keys, NaN, integers over 64 digits); an "
             "NDJSON body cut off by the client (the chunks before it stay committed)",
        413: "JSON: over 10,000 jobs, or a body over 16 MiB (NDJSON bodies have no such limit)",
        415: "The body is neither `application/json` nor `application/x-ndjson`",
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
async def ingest_jobs(request: Request, caller: IngestCaller, session: SessionDep,
                      settings: SettingsDep, background: BackgroundTasks) -> IngestReport:
    """Create, update or leave alone each job by its `job_id`, and cost it per UTC day.

    Each record is checked on its own: a bad one is reported in `errors` (its `index`, `job_id`, `field` and why)
    and the good ones of the same batch are stored. Within a batch the last valid copy of a `job_id` wins (earlier
    ones count as `superseded`). A record identical to the stored job changes nothing, not even `updated_at`
    (`unchanged`). Costs: the record's billed `cost` (USD) spread over its run, else GPU-hours × the catalog price
    (`GET /api/v1/prices`) in force, else `unpriced` (GPU-hours kept, no cost invented). Numbers may be JSON
    numbers or decimal strings; both are read exactly. An admin's token or an ingest API token.

    **`application/json`**: `{"jobs": [...]}`, at most 10,000 jobs and 16 MiB, written in one transaction (its
    good records are stored together; a database failure stores none of them);
    `index` is the record's 0-based position in `jobs`.

    **`application/x-ndjson`** (also `application/ndjson`, `application/jsonl`, `application/x-jsonlines`): one
    job per line, any number of lines, read as they arrive. `index` is the 1-based line number. Blank lines are
    skipped and not counted in `received`; a line that is not JSON, not an object, not UTF-8 or over 1 MiB fails
    alone (`field` null). Every 10,000 lines (or 8 MiB of them) are stored and committed on their own, so a body
    cut off midway keeps the chunks already committed (sending it again is safe: they come back `unchanged`), and
    a `job_id` repeated in different chunks is a later update of the job (`updated`, or `unchanged` if
    identical), not `superseded`. An ingest token revoked or expired mid-stream is refused (401) from the next
    chunk on.
    """
    media_type = _media_type(request)
    await release_connection(session)
    if media_type in ndjson.NDJSON_MEDIA_TYPES:
        report = await _ingest_ndjson(request, session, lambda: recheck_ingest_caller(session, settings, caller))
    else:
        jobs = await _read_batch(request, media_type)
        await start_writing(session)
        report = await JobIngestionService(session).ingest(jobs)
    # Budgets are evaluated once the ingest is committed and answered (docs/budgets-and-alerts.md).
    schedule_after_ingest(background, request.app.state, report.created + report.updated)
    return report


async def _ingest_ndjson(request: Request, session: SessionDep,
                         recheck: Callable[[], Awaitable[None]]) -> IngestReport:
    """Ingest an NDJSON body chunk by chunk (`ndjson.CHUNK_LINES` lines), each in a write transaction of its own,
    taken only once the chunk has arrived (no write lock is held while the client sends); the reports are added
    up. Each chunk is read and prepared while the one before it is written. A client that disconnects midway gets
    a 400 saying how much was committed (if it still listens). The request ends in a writer's transaction, as a
    JSON body's does, for what the caller's dependencies write."""
    total = ndjson.ReportSum()
    service = JobIngestionService(session)

    async def prepare(chunk: ndjson.LineChunk) -> PreparedBatch | None:
        return await pipeline.prepare(service, chunk.records, chunk.lines) if chunk.records else None

    try:
        # The next chunk is read, validated and costed while this one is written (app/ingestion/pipeline.py).
        async with aclosing(pipeline.prefetched(ndjson.read_chunks(request.stream()), prepare)) as chunks:
            async for chunk, batch in chunks:
                report = None
                if batch is not None:
                    await start_writing(session)
                    await recheck()  # a token revoked mid-stream stops it here (401); earlier chunks stay
                    service.ahead = batch
                    report = await service.ingest(chunk.records, indexes=chunk.lines)
                    await session.commit()
                total.add(chunk, report)
    except ClientDisconnect:
        kept = (f"lines 1 to {total.last_line:,} ({total.received:,} non-blank) were committed"
                if total.last_line else "nothing was committed")
        raise AppError(f"The request body ended early (the client disconnected): {kept}; the lines after them "
                       "were not") from None
    await start_writing(session)
    return total.report()


@router.post(
    "/ingest/jobs/mock",
    summary="Ingest the bundled demo jobs",
    response_model=IngestReport,
    responses=error_responses(401, 403, 503, descriptions=_INGEST_AUTH),
)
async def ingest_mock_jobs(request: Request, _: IngestCaller, session: SessionDep,
                           background: BackgroundTasks) -> IngestReport:
    """Ingest `mock_jobs.json` (30 jobs of 3 teams, 1–14 January 2026) through the same path as
    `POST /admin/ingest/jobs`. The file is fixed, so a second call reports all 30 `unchanged`. An admin's token
    or an ingest API token."""
    await start_writing(session)
    report = await JobIngestionService(session).ingest(load_mock_jobs())
    schedule_after_ingest(background, request.app.state, report.created + report.updated)
    return report


@router.delete(
    f"/jobs/{JOB_ID}",
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
