"""`GET /metrics`: Prometheus text format, outside `/api/v1` like the health probes."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from app.api.errors import error_responses
from app.metrics.registry import render
from app.metrics.service import MetricsAccess

router = APIRouter(tags=["health"])

_EXAMPLE = ('# HELP jobcost_http_requests_total HTTP requests answered, by method, route template and status.\n'
            '# TYPE jobcost_http_requests_total counter\n'
            'jobcost_http_requests_total{method="GET",route="/api/v1/jobs/{job_id}",status="200"} 42.0\n')


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {"description": "The Prometheus text exposition format",
              "content": {"text/plain": {"example": _EXAMPLE}}},
        **error_responses(401, 403, descriptions={
            401: "`JOBCOST_METRICS_TOKEN` is set and the request lacks that bearer token",
            403: "The client's address is outside `JOBCOST_METRICS_ALLOW` (production default: loopback and "
                 "private networks)"}),
    },
)
async def metrics(request: Request) -> Response:
    """Request counts and latencies by route template and status, ingest records by outcome, recosts and
    operations, the database pool, 503s by cause and build information: every metric, its labels and units are
    in docs/metrics-and-logs.md. With several workers, the figures of all of them (prometheus-client's
    multiprocess mode). Who may read it: `JOBCOST_METRICS_ALLOW` and `JOBCOST_METRICS_TOKEN`."""
    access: MetricsAccess = request.app.state.metrics_access
    client = request.client
    access.check(client.host if client else None, request.headers.get("authorization"))
    body, media_type = render()
    return Response(body, media_type=media_type, headers={"Cache-Control": "no-store"})
