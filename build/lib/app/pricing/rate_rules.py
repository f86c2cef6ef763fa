"""The rules for one rate of the rate card, shared by the admin API (`POST /api/v1/admin/prices`) and rate-card
files (`app.pricing.rate_file`), so that both refuse the same values the same way."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, model_validator
from pydantic_core import PydanticCustomError

from app.ingestion.normalize import optional_text, parse_cost, parse_instant, required_text

NAME_MAX = 64  # provider and gpu_type, as in gpu_prices and in ingest
NOTE_MAX = 1024
ANY_PROVIDER = "*"
Note = optional_text(NOTE_MAX)


def _rate_amount(value: Any) -> Decimal:
    """USD per GPU-hour: more than 0, at most 6 decimal places, under 10^12 (ingest's money rule, minus 0)."""
    amount = parse_cost(value)
    if amount <= 0:
        raise PydanticCustomError("greater_than", "must be more than 0")
    return amount


def _optional_instant(value: Any) -> datetime | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return parse_instant(value)


class RateFields(BaseModel):
    """One rate as a file (or a request) gives it, checked field by field; `valid_to` must come after
    `valid_from`. Raises pydantic's ValidationError, one entry per bad field."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: Annotated[str, required_text(NAME_MAX)]
    gpu_type: Annotated[str, required_text(NAME_MAX)]
    usd_per_gpu_hour: Annotated[Decimal, BeforeValidator(_rate_amount)]
    valid_from: Annotated[datetime, BeforeValidator(parse_instant)]
    valid_to: Annotated[datetime | None, BeforeValidator(_optional_instant)] = None
    note: Note = None

    @model_validator(mode="after")
    def _ends_after_start(self) -> RateFields:
        if self.valid_to is not None and self.valid_to <= self.valid_from:
            raise PydanticCustomError("valid_to", "valid_to: must be after valid_from")
        return self
