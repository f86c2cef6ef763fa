"""`/energy/coefficients`: the figures energy and carbon estimates are made from, for any signed-in user."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import INGEST_TOKEN_REFUSED, CurrentUser
from app.api.errors import error_responses
from app.energy.schemas import CoefficientsRead
from app.energy.service import read_coefficients

router = APIRouter(tags=["energy"])


@router.get("/energy/coefficients", summary="Energy and carbon coefficients", response_model=CoefficientsRead,
            responses={**error_responses(401, 503), **INGEST_TOKEN_REFUSED})
async def get_energy_coefficients(_: CurrentUser) -> CoefficientsRead:
    """Per GPU type the watts drawn idle and at full load, per provider the PUE, per (provider, region) the grid
    intensity in gCO2e/kWh, each with its public source (Cloud Carbon Footprint's methodology, vendors' data
    sheets) and the date it was read; and the defaults an estimate falls back on (named in a job's
    `energy.defaults_used`). A job without measured energy is estimated as GPU-hours × (idle + u × (full − idle))
    × PUE, u its utilisation or 0.5; carbon is energy × intensity. Any signed-in user."""
    return read_coefficients()
