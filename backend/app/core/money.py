"""Amounts and GPU-hours on the wire: JSON strings of decimals with exactly 6 places (`"1234.500000"`), never
floats. A figure is rounded half-even once, here, from the exact value; the OpenAPI schema says `string`."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated

from pydantic import PlainSerializer, WithJsonSchema

SIX_PLACES = Decimal("0.000001")


def six_places(value: Decimal | int) -> str:
    """`value` rounded half-even to 6 decimal places, as a plain (non-scientific) decimal string."""
    return f"{Decimal(value).quantize(SIX_PLACES, rounding=ROUND_HALF_EVEN):f}"


Usd = Annotated[
    Decimal,
    PlainSerializer(six_places, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+\.\d{6}$", "description": "USD, 6 decimal places",
                    "examples": ["1234.500000"]}),
]
GpuHours = Annotated[
    Decimal,
    PlainSerializer(six_places, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^\d+\.\d{6}$", "description": "GPU-hours, 6 decimal places",
                    "examples": ["32.000000"]}),
]
