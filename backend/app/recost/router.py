"""`POST /admin/prices/recost` (recost history on demand) and `GET /operations/{id}` (poll long work)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from app.api.deps import INGEST_TOKEN_REFUSED, AdminUser, SessionDep, release_connection, single_valued_query
from app.api.errors import error_responses
from app.core.errors import NotFoundError
from app.recost.deps import OperationStoreDep, RecostRunnerDep
from app.recost.runner import RecostOutcome
from app.recost.schemas import OperationRead, RecostAnswer, RecostReportRead, RecostRequest

router = APIRouter(tags=["pricing"])

OPERATIONS_PATH = "/api/v1/operations"


def recost_answer(outcome: RecostOutcome, response: Response) -> RecostAnswer:
    """The body of an answer to a change: the report (status left as the route's), or the operation (202 and its
    `Location`). For every route that recosts after a change."""
    if outcome.operation is not None:
        response.status_code = status.HTTP_202_ACCEPTED
        response.headers["Location"] = f"{OPERATIONS_PATH}/{outcome.operation.id}"
        return RecostAnswer(operation=OperationRead.of(outcome.operation))
    return RecostAnswer(recost=None if outcome.report is None else RecostReportRead.of(outcome.report))


@router.post(
    "/admin/prices/recost",
    summary="Recost history with the rate card in force",
    response_model=RecostAnswer,
    responses={202: {"model": RecostAnswer, "description": "Long work: an operation to poll at `Location`"},
               **error_responses(401, 403, 422, 503), **INGEST_TOKEN_REFUSED},
)
async def recost(admin: AdminUser, session: SessionDep, runner: RecostRunnerDep, response: Response,
                 body: RecostRequest | None = None) -> RecostAnswer:
    """Reprice every non-billed job whose run reaches `since` (a UTC day; every job without it) with the rate
    card as it is now, in chunks of 10,000 jobs (a setting), each its own transaction: snapshots and daily rollups
    change with their jobs. Billed jobs never change. Idempotent: a second call changes nothing.

    200 with `recost` (`jobs_recosted`, `cost_before`/`cost_after` in USD, `unpriced_gpu_hours_before`/`_after`)
    when the jobs in scope are at most `JOBCOST_RECOST_INLINE_MAX_JOBS` (20,000); otherwise 202 with the
    `operation` and `Location: /api/v1/operations/{id}`, whose `result` is the same report. Admins only."""
    since = body.since if body is not None else None
    email = admin.email
    await release_connection(session)  # the recost's chunks are transactions of their own
    return recost_answer(await runner.recost_all(since, created_by=email), response)


@router.get(
    "/operations/{operation_id}",
    summary="Poll an operation",
    response_model=OperationRead,
    dependencies=[single_valued_query(caller=AdminUser)],
    responses={**error_responses(401, 403, 404, 422, 503), **INGEST_TOKEN_REFUSED},
)
async def get_operation(_: AdminUser, operation_id: uuid.UUID, store: OperationStoreDep) -> OperationRead:
    """The state of long work started by an admin (a recost of many jobs): `running` with its `progress`
    (`done` of `total` jobs), then `succeeded` with its `result`, or `failed` with its `error` (a server stopped
    mid-way fails its operations; start the work again, it is idempotent). Admins only; 404 for an unknown id."""
    operation = await store.get(operation_id)
    if operation is None:
        raise NotFoundError(f"No operation with id {operation_id}")
    return OperationRead.of(operation)
