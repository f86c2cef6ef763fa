"""Liveness and readiness probes, outside `/api/v1` and without a token."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict

from app.api.errors import error_responses
from app.core.errors import DatabaseUnavailableError
from app.db.engine import ping

router = APIRouter(tags=["health"])


class HealthStatus(BaseModel):
    """The probe's answer when all is well (failures are problem+json)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok"}]})

    status: Literal["ok"] = "ok"


@router.get("/health", summary="Process is up", response_model=HealthStatus)
async def health() -> HealthStatus:
    """200 while the process serves requests; touches nothing else."""
    return HealthStatus()


@router.get("/health/ready", summary="Database is reachable", response_model=HealthStatus,
            responses=error_responses(503))
async def ready(request: Request) -> HealthStatus:
    """200 when a `SELECT 1` succeeds on the database; 503 `database-unavailable` (with `Retry-After`)
    otherwise."""
    try:
        await ping(request.app.state.sessionmaker)
    except Exception as exc:
        raise DatabaseUnavailableError(f"The database is unreachable ({type(exc).__name__})") from None
    return HealthStatus()


# HEAD too, for load balancers that probe with it (kept out of the schema: same answers as GET, no body).
router.add_api_route("/health", health, methods=["HEAD"], include_in_schema=False)
router.add_api_route("/health/ready", ready, methods=["HEAD"], include_in_schema=False)
