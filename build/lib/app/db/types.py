"""Column types that give the same answers on PostgreSQL and SQLite.

- `UTCDateTime`: `timestamptz` on PostgreSQL, ISO text in UTC on SQLite; always a timezone-aware UTC `datetime`
  in Python. Naive datetimes are refused at bind time (they would be read in some host's local zone).
- `Micros`: money as integer micro-USD (`BIGINT`) in the database and `Decimal` USD in Python, so sums are exact
  on SQLite too, where NUMERIC is a float.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Context, Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

MICROS_PER_USD = 1_000_000
USD_QUANTUM = Decimal("0.000001")
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1
# Room for every BIGINT amount at 6 places: under the default 28-digit context a longer value would be rounded
# before the "more than 6 places" test could see its tail.
_EXACT = Context(prec=40)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC instant. Binding a naive datetime raises ValueError."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"UTCDateTime takes a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime refused: give an offset (stored as UTC)")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            # SQLite keeps the wall-clock text and drops any offset: store UTC wall-clock only.
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def usd_to_micros(value: Decimal) -> int:
    """Exact conversion of a USD amount with at most 6 decimal places to integer micro-USD.

    Raises TypeError for floats (and anything not Decimal or int), ValueError for non-finite values, amounts
    finer than one micro-USD and amounts outside BIGINT: money is never rounded silently here (callers round on
    purpose, e.g. largest-remainder spreading), and every backend refuses the same values the same way.
    """
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(f"money must be Decimal or int, got {type(value).__name__}")
    value = Decimal(value)
    if not value.is_finite():
        raise ValueError("money must be finite")
    if value.is_zero():
        return 0
    if value.adjusted() >= 13:  # |value| >= 10**13 USD: beyond BIGINT micro-USD (and beyond _EXACT)
        raise ValueError(f"{value} is out of range for micro-USD")
    quantized = value.quantize(USD_QUANTUM, context=_EXACT)
    if quantized != value:  # Decimal comparison is exact, whatever the context
        raise ValueError(f"{value} has more than 6 decimal places")
    micros = int(quantized.scaleb(6, context=_EXACT))
    if not BIGINT_MIN <= micros <= BIGINT_MAX:
        raise ValueError(f"{value} is out of range for micro-USD")
    return micros


def micros_to_usd(micros: int | Decimal) -> Decimal:
    """Integer micro-USD (or an exact integral Decimal, as PostgreSQL returns SUM(bigint)) to USD, 6 places."""
    return (Decimal(micros) / MICROS_PER_USD).quantize(USD_QUANTUM)


class Micros(TypeDecorator[Decimal]):
    """Money: `Decimal` USD in Python, integer micro-USD (`BIGINT`) in the database.

    `func.sum()` over a Micros column keeps the type, so sums come back as exact `Decimal` USD on both dialects.
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        return usd_to_micros(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return micros_to_usd(value)
