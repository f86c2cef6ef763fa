"""`create_app(settings)`: the FastAPI application. The lifespan owns the database engine."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app.api.errors import install_error_handlers
from app.api.router import api_router
from app.auth.service import AuthService
from app.core.config import Settings, get_settings
from app.db.engine import create_engine, create_sessionmaker
from app.health.router import router as health_router

logger = logging.getLogger("jobcost")

DESCRIPTION = """
**jobcost** tells you what GPU and ML compute costs, and who spent it.

Schedulers, scripts and importers push **jobs** (training runs, fine-tunes, inference batches). Each job is
costed — its **billed cost** when the record carries one, else an **estimate** from the GPU price catalog — and
spread over the UTC days it ran, so any date window sums exactly what was spent inside it.

Authenticate with `POST /api/v1/auth/token` (OAuth2 password form), then send `Authorization: Bearer <token>`.
Admins ingest and manage; members read their teams' data. Errors are `application/problem+json` (RFC 9457).
Money and GPU-hours are decimal strings with 6 places, never floats.
"""


class ProductionSafetyError(RuntimeError):
    """Refusal to start in production with development credentials."""


async def _refuse_development_admin(app: FastAPI) -> None:
    async with app.state.sessionmaker() as session:
        emails = await AuthService(session, app.state.settings).admins_with_development_password()
    if emails:
        raise ProductionSafetyError(
            f"JOBCOST_ENV=production but these admins sign in with the development password 'admin': "
            f"{', '.join(emails)}; deactivate them with `jobcost users deactivate --email EMAIL`")


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    engine = create_engine(settings)
    app.state.engine = engine
    app.state.sessionmaker = create_sessionmaker(engine)
    try:
        if settings.is_production:
            await _refuse_development_admin(app)
        logger.info("jobcost started (env=%s, database=%s)", settings.env.value, engine.url.get_backend_name())
        yield
    finally:
        await engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    """The jobcost ASGI app for `settings` (default: from the environment).

    The engine is created when the lifespan starts and disposed when it ends; until then `app.state` has
    only `settings`, so tests may install their own `sessionmaker` instead of running the lifespan.
    """
    settings = settings or get_settings()
    app = FastAPI(
        title="jobcost",
        summary="What GPU and ML compute costs, and who spent it.",
        description=DESCRIPTION,
        version="0.1.0",
        lifespan=_lifespan,
        openapi_tags=[
            {"name": "auth", "description": "Sign in with e-mail and password; get a bearer token."},
            {"name": "admin", "description": "Admin-only operations."},
            {"name": "health", "description": "Probes for load balancers and orchestrators."},
        ],
    )
    app.state.settings = settings
    if settings.cors_origins:
        # Bearer tokens travel in a header, not cookies: credentials are never allowed cross-origin.
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=False,
                           allow_methods=["GET", "POST", "DELETE"], allow_headers=["Authorization", "Content-Type"])
    install_error_handlers(app)
    app.include_router(health_router)
    app.include_router(api_router)
    return app
