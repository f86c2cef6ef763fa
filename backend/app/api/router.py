"""The `/api/v1` router: every domain router, mounted once."""

from fastapi import APIRouter

from app.admin.router import router as admin_router
from app.analytics.router import router as analytics_router
from app.auth.router import router as auth_router
from app.budgets.router import router as budgets_router
from app.energy.router import router as energy_router
from app.export.router import router as export_router
from app.forecasting.router import router as forecasting_router
from app.ingestion.router import router as ingestion_router
from app.jobs.router import router as jobs_router
from app.pricing.router import router as pricing_router
from app.recost.router import router as recost_router

API_PREFIX = "/api/v1"

api_router = APIRouter(prefix=API_PREFIX)
api_router.include_router(auth_router)
api_router.include_router(admin_router)
api_router.include_router(ingestion_router)
api_router.include_router(jobs_router)
api_router.include_router(analytics_router)
api_router.include_router(forecasting_router)
api_router.include_router(pricing_router)
api_router.include_router(recost_router)
api_router.include_router(energy_router)
api_router.include_router(budgets_router)
api_router.include_router(export_router)
