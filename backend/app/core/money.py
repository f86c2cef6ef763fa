"""Amounts and GPU-hours on the wire: JSON strings of decimals with exactly 6 places (`"1234.500000"`), never
floats. A figure is rounded half-even once, here, from the exact value; the OpenAPI schema says `string`."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated

from pydantic import PlainSerializer, WithJsonSchema

SIX_PLACES = Decimal("0.000001")
# GPU time is stored as integer GPU-microseconds; a millionth of a GPU-hour is 3,600 GPU-microseconds.
_GPU_US_PER_MICRO_HOUR = 3_600


def six_places(value: Decimal | int) -> str:
    """`value` rounded half-even to 6 decimal places, as a plain (non-scientific) decimal string."""
    return f"{Decimal(value).quantize(SIX_PLACES, rounding=ROUND_HALF_EVEN):f}"


def _micro_hours(gpu_us: int) -> int:
    """Millionths of a GPU-hour from integer GPU-microseconds, rounded half-even in integer arithmetic (exact, with
    no intermediate decimal precision to lose, however large the sum)."""
    micro_hours, rest = divmod(gpu_us, _GPU_US_PER_MICRO_HOUR)
    if rest * 2 > _GPU_US_PER_MICRO_HOUR or (rest * 2 == _GPU_US_PER_MICRO_HOUR and micro_hours % 2):
        micro_hours += 1
    return micro_hours


def gpu_hours(gpu_us: int) -> Decimal:
    """GPU-hours from integer GPU-microseconds, rounded half-even to 6 places in integer arithmetic."""
    return Decimal(_micro_hours(gpu_us)).scaleb(-6)


Usd = Annotated[
    Decimal,
    PlainSerializer(six_places, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^\d+\.\d{6}$", "description": "USD, 6 decimal places",
                    "examples": ["1234.500000"]}),
]
GpuHours = Annotated[
    Decimal,
    PlainSerializer(six_places, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^\d+\.\d{6}$", "description": "GPU-hours, 6 decimal places",
                    "examples": ["32.000000"]}),
]

# Energy in kWh and carbon in kg CO2e, kept as integer millionths (mWh, mg): the same 6-place strings as money.
Kwh = Annotated[
    Decimal,
    PlainSerializer(six_places, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^\d+\.\d{6}$", "description": "kWh, 6 decimal places",
                    "examples": ["31.250000"]}),
]
KgCo2e = Annotated[
    Decimal,
    PlainSerializer(six_places, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^\d+\.\d{6}$", "description": "kg CO2e, 6 decimal places",
                    "examples": ["11.845781"]}),
]


def micros_text(micros: int) -> str:
    """Integer micro-USD as the 6-place string `six_places` gives (`1234500000` → `"1234.500000"`), in integer
    arithmetic: the fast path for reports of thousands of rows."""
    whole, fraction = divmod(micros, 1_000_000)
    return f"{whole}.{fraction:06d}" if micros >= 0 else six_places(Decimal(micros).scaleb(-6))


def gpu_hours_text(gpu_us: int) -> str:
    """Integer GPU-microseconds as GPU-hours, the 6-place string of `gpu_hours` (rounded half-even)."""
    return micros_text(_micro_hours(gpu_us))
