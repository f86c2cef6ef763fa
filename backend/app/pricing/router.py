"""`/prices`: the GPU price catalog that estimates are made from."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import INGEST_TOKEN_REFUSED, CurrentUser, SessionDep
from app.api.errors import error_responses
from app.pricing.catalog import default_catalog
from app.pricing.schemas import PriceCatalogRead, PriceRead
from app.pricing.service import list_prices

router = APIRouter(prefix="/prices", tags=["pricing"])


@router.get("", summary="List GPU prices", response_model=PriceCatalogRead,
            responses={**error_responses(401, 503), **INGEST_TOKEN_REFUSED})
async def get_prices(_: CurrentUser, session: SessionDep) -> PriceCatalogRead:
    """Every (provider, GPU type) rate in USD per GPU-hour, ordered by provider, GPU type and `valid_from`, each
    with its public source and that source's date, plus the aliases that map other spellings onto these names.
    A job without a billed cost is estimated as GPU-hours × the rate in force while it ran. Any signed-in user."""
    catalog = default_catalog()
    prices = [PriceRead.model_validate(p) for p in await list_prices(session)]
    aliases = {
        "gpu_type": {k: v for k, v in sorted(catalog.gpu_type_aliases.items()) if k != v.casefold()},
        "provider": {k: v for k, v in sorted(catalog.provider_aliases.items()) if k != v.casefold()},
    }
    return PriceCatalogRead(prices=prices, aliases=aliases)
