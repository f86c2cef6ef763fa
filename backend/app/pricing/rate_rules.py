"""The rules for one rate of the rate card, shared by the admin API (`POST /api/v1/admin/prices`) and rate-card
files (`app.pricing.rate_file`), so that both refuse the same values the same way."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from app.ingestion.normalize import optional_text, parse_cost, parse_instant, required_text

NAME_MAX = 64  # provider and gpu_type, as in gpu_prices and in ingest
NOTE_MAX = 1024
ANY_PROVIDER = "*"
Note = optional_text(NOTE_MAX)


def _rate_amount(value: Any) -> Decimal:
    """USD per GPU-hour: more than 0, at most 6 decimal places, under 10^12 (ingest's money rule, minus 0)."""
    try:
        amount = parse_cost(value)
    except PydanticCustomError as exc:
        if exc.type == "greater_than_equal":  # ingest's "0 or more (credits and refunds…)" is for jobs' costs
            raise PydanticCustomError("greater_than", "must be more than 0") from None
        raise
    if amount <= 0:
        raise PydanticCustomError("greater_than", "must be more than 0")
    return amount


def _optional_instant(value: Any) -> datetime | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return parse_instant(value)


class RateFields(BaseModel):
    """One rate as a file (or a request) gives it, checked field by field; `valid_to` must come after
    `valid_from` (an error at `valid_to`). Raises pydantic's ValidationError, one entry per bad field."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: Annotated[str, required_text(NAME_MAX)]
    gpu_type: Annotated[str, required_text(NAME_MAX)]
    usd_per_gpu_hour: Annotated[Decimal, BeforeValidator(_rate_amount)]
    valid_from: Annotated[datetime, BeforeValidator(parse_instant)]
    valid_to: Annotated[datetime | None, BeforeValidator(_optional_instant)] = None
    note: Note = None

    @field_validator("valid_to")
    @classmethod
    def _ends_after_start(cls, valid_to: datetime | None, info: ValidationInfo) -> datetime | None:
        # A field validator, so the error's loc names `valid_to` (skipped when valid_from was itself refused).
        valid_from = info.data.get("valid_from")
        if valid_to is not None and valid_from is not None and valid_to <= valid_from:
            raise PydanticCustomError("valid_to", "must be after valid_from")
        return valid_to
