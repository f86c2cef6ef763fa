"""The window of `GET /export/focus` and `jobcost export focus`: UTC days, both ends included, both required."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from app.analytics.schemas import UtcDay

# A year and a day: a leap year's export in one file. Longer windows are refused (422) rather than streamed for
# minutes: export a year at a time.
MAX_WINDOW_DAYS = 366


class FocusWindow(BaseModel):
    """UTC days to export, `start` and `end` both included (`start=2026-01-01&end=2026-01-31` is January), at most
    366 days. Unknown parameters are refused (422)."""

    model_config = ConfigDict(extra="forbid")

    start: UtcDay = Field(description="First UTC day exported (YYYY-MM-DD).", examples=["2026-01-01"])
    end: UtcDay = Field(description="Last UTC day exported (YYYY-MM-DD), at most 365 days after `start`.",
                        examples=["2026-01-31"])

    @field_validator("end")
    @classmethod
    def _within_limits(cls, value: date, info: ValidationInfo) -> date:
        start = info.data.get("start")
        if start is None:
            return value
        if value < start:
            raise PydanticCustomError("window_reversed", "must not be before start (end is the last day included)")
        if (value - start).days + 1 > MAX_WINDOW_DAYS:
            raise PydanticCustomError("window_too_long", "the window is {days} days; at most {limit} may be "
                                      "exported at once", {"days": (value - start).days + 1,
                                                           "limit": MAX_WINDOW_DAYS})
        return value
