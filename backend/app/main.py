"""`create_app(settings)`: the FastAPI application. The lifespan owns the database engine."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp

from app.api.errors import install_error_handlers
from app.api.limits import RequestLimitsMiddleware
from app.api.router import api_router
from app.auth.service import AuthService
from app.budgets.runner import AlertTimer
from app.core.config import Settings, get_settings
from app.core.logs import configure_logging
from app.db import migrate
from app.db.dialect import serialize_startup
from app.db.engine import begin_write, create_engine, create_sessionmaker
from app.health.router import router as health_router
from app.ingestion.content_hash import note_legacy_hashes
from app.metrics.middleware import observe
from app.metrics.pool import instrument_pool, release_pool
from app.metrics.registry import forget_this_process, set_build_info
from app.metrics.router import router as metrics_router
from app.metrics.service import MetricsAccess
from app.pricing.catalog import default_catalog
from app.pricing.service import sync_catalog
from app.recost.operations import OperationStore, OperationTasks
from app.web.assets import mount_assets
from app.web.docs import router as docs_router
from app.web.router import router as web_router

logger = logging.getLogger("jobcost")

DESCRIPTION = """
Schedulers, scripts and importers push **jobs** (training runs, fine-tunes, inference batches); jobcost costs
each one (its **billed cost**, or an **estimate** from a GPU price catalog) per UTC day it ran, and answers what
was spent, in USD and GPU-hours, by team and by model, in any window of UTC days. Job listings and costs are
scoped: admins read every team, members only their own.

**Signing in:** `POST /api/v1/auth/token` with form fields `username` (your e-mail) and `password` returns an
`access_token`; send it as `Authorization: Bearer <token>` (on this page: *Authorize*, paste the token).
Admins ingest and manage; members read their teams' data.

**Errors** are `application/problem+json` (RFC 9457): `type` ends with a stable code, `detail` says what went
wrong, and validation errors list each field in `errors` without echoing what was sent.
"""


class ProductionSafetyError(RuntimeError):
    """Refusal to start in production with development credentials."""


class SchemaOutOfDateError(RuntimeError):
    """Refusal to start on a database whose schema is not the one this code was written for."""


async def _check_schema(engine: AsyncEngine) -> bool:
    """True when the schema is at head; False when the database does not answer; raises when it is behind."""
    try:
        current = await migrate.current_revisions(engine)
    except Exception as exc:  # unreachable now: start anyway, /health/ready says 503 until it answers
        logger.warning("database unreachable at start (%s); not checking its schema", type(exc).__name__)
        return False
    expected = migrate.head_revisions()
    if current != expected:
        found = ", ".join(sorted(current)) or "no schema"
        raise SchemaOutOfDateError(
            f"the database is at {found} but this version of jobcost needs {', '.join(sorted(expected))}: "
            "run `jobcost db upgrade`")
    return True


async def _sync_price_catalog(app: FastAPI) -> None:
    """Bring the bundled price catalog into the database; the workers of one `jobcost serve --workers N` do it one
    after the other (`serialize_startup`)."""
    async with app.state.sessionmaker() as session:
        await begin_write(session)
        await serialize_startup(session)
        count = await sync_catalog(session, default_catalog())
        await session.commit()
    logger.info("GPU price catalog: %d rates", count)


async def _fail_abandoned_operations(app: FastAPI) -> None:
    """Operations left `running` by a process that died (their heartbeat stale) are marked failed."""
    stale = timedelta(seconds=app.state.settings.operation_stale_seconds)
    await OperationStore(app.state.sessionmaker, stale_after=stale).fail_abandoned()


async def _refuse_development_admin(app: FastAPI) -> None:
    async with app.state.sessionmaker() as session:
        emails = await AuthService(session, app.state.settings).admins_with_development_password()
    if emails:
        raise ProductionSafetyError(
            f"JOBCOST_ENV=production but these admins sign in with the development password 'admin': "
            f"{', '.join(emails)}; deactivate them with `jobcost users deactivate --email EMAIL`")


async def _check_legacy_hashes(engine: AsyncEngine) -> None:
    """Whether jobs stored with a legacy content hash remain (app/ingestion/content_hash.py): when none do, this
    process's ingests skip looking them up. Run beside the service, not before it: with none left the check reads
    all of `jobs` (seconds at millions of jobs), and until it answers ingest looks them up per chunk, which is only
    slower. A failure (the database unreachable) is logged and changes nothing."""
    try:
        if await note_legacy_hashes(engine):
            logger.info("some jobs hold a legacy content hash: ingest upgrades them as they are re-sent")
    except Exception as exc:  # noqa: BLE001 - a best-effort optimisation must not take the service down
        logger.warning("could not check for legacy content hashes (%s); ingest keeps looking them up",
                       type(exc).__name__)


_startup_frozen = False


def _freeze_startup_objects() -> None:
    """Move every object alive at start-up (modules, classes, the OpenAPI schema, …) out of the cyclic garbage
    collector's reach, once per process: its full passes otherwise walk them all again whenever a request builds a
    large answer. Measured on an 18,250-row analytics answer: 35 % less CPU (bench/README.md, analytics.py)."""
    global _startup_frozen
    if not _startup_frozen:
        _startup_frozen = True
        gc.freeze()


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    engine = create_engine(settings)
    app.state.engine = engine
    app.state.sessionmaker = create_sessionmaker(engine)
    app.state.operation_tasks = OperationTasks()
    instrument_pool(engine)
    alert_timer = AlertTimer(app.state.sessionmaker, settings)
    legacy_check: asyncio.Task[None] | None = None
    try:
        if await _check_schema(engine):
            await _sync_price_catalog(app)
            await _fail_abandoned_operations(app)
            legacy_check = asyncio.create_task(_check_legacy_hashes(engine), name="jobcost-legacy-hash-check")
        app.state.legacy_hash_check = legacy_check  # awaitable by whoever needs the engine quiet (pool tests)
        if settings.is_production:
            await _refuse_development_admin(app)
        logger.info("jobcost started (env=%s, database=%s)", settings.env.value, engine.url.get_backend_name())
        _freeze_startup_objects()
        alert_timer.start()  # budgets evaluated and alerts sent every JOBCOST_ALERTS_INTERVAL_SECONDS
        yield
        await alert_timer.stop()
        await app.state.operation_tasks.cancel_all()  # each records its operation as failed
    finally:
        if legacy_check is not None:
            legacy_check.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await legacy_check
        await alert_timer.stop()
        await engine.dispose()
        release_pool(engine)
        forget_this_process()


VERSION = "0.1.0"


class JobcostApp(FastAPI):
    """FastAPI with the request metrics (`app.metrics.middleware.observe`) outside every other layer, Starlette's
    error middleware included, so that they count the 500s and 503s it answers too."""

    def build_middleware_stack(self) -> ASGIApp:
        return observe(super().build_middleware_stack(), self.routes)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The jobcost ASGI app for `settings` (default: from the environment).

    The engine is created when the lifespan starts and disposed when it ends; until then `app.state` has
    only `settings`, so tests may install their own `sessionmaker` instead of running the lifespan.
    """
    settings = settings or get_settings()
    app = JobcostApp(
        title="jobcost",
        summary="What GPU and ML compute costs, and who spent it.",
        description=DESCRIPTION,
        version=VERSION,
        lifespan=_lifespan,
        docs_url=None,  # served offline by app.web.docs instead of from a CDN
        redoc_url=None,
        openapi_tags=[
            {"name": "auth", "description": "Sign in with e-mail and password; get a bearer token."},
            {"name": "admin", "description": "Admin-only operations."},
            {"name": "ingestion", "description": "Admins push job records in (idempotent by `job_id`) and delete "
                                                 "jobs."},
            {"name": "pricing", "description": "The GPU price catalog that estimated costs come from."},
            {"name": "budgets", "description": "USD budgets per team and period, with alert thresholds."},
            {"name": "health", "description": "Probes for load balancers and orchestrators."},
        ],
    )
    app.state.settings = settings
    app.state.metrics_access = MetricsAccess.of(settings)
    set_build_info(VERSION, make_url(settings.database_url).get_backend_name())
    if settings.cors_origins:
        # Bearer tokens travel in a header, not cookies: credentials are never allowed cross-origin.
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=False,
                           allow_methods=["GET", "POST", "DELETE"], allow_headers=["Authorization", "Content-Type"])
    app.add_middleware(RequestLimitsMiddleware, max_body_bytes=settings.max_body_bytes,
                       max_header_bytes=settings.max_header_bytes)
    install_error_handlers(app)
    app.include_router(health_router)
    app.include_router(metrics_router)
    app.include_router(api_router)
    app.include_router(docs_router)
    app.include_router(web_router)
    mount_assets(app)
    return app


def create_served_app() -> FastAPI:
    """The app as `jobcost serve` runs it, in each worker process: logging set up from the settings
    (`JOBCOST_LOG_FORMAT`, `JOBCOST_LOG_LEVEL`) before anything logs."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format_in_use)
    return create_app(settings)
