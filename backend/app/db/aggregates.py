"""Exact sums of BIGINT columns that cannot overflow on SQLite.

PostgreSQL's `sum(bigint)` returns `numeric` and never overflows. SQLite's `sum()` over integers stops with
"integer overflow" past 2^63 (about 9.2 × 10^18): a few jobs near the billed-cost limit (10^12 USD, 10^18 micro-USD
each) or a few million GPU-days of GPU-microseconds would break every analytics query. So each sum is taken in two
parts, the quotient and the remainder of a division by 10^6, which stay far inside 64 bits, and joined back in
Python: exact on both databases, for the price of a second aggregate.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import BigInteger, ColumnElement, func, type_coerce

_SPLIT = 1_000_000


def split_sum(expr: ColumnElement[object], label: str) -> tuple[ColumnElement[int], ColumnElement[int]]:
    """Two labelled aggregates, `<label>_hi` and `<label>_lo`, whose `joined_sum` is `sum(expr)` (NULLs skipped).
    `expr` must be a non-negative integer expression (a BIGINT column, or a CASE over one)."""
    raw = type_coerce(expr, BigInteger)
    return (func.sum(raw // _SPLIT).label(f"{label}_hi"), func.sum(raw % _SPLIT).label(f"{label}_lo"))


def joined_sum(high: int | Decimal | None, low: int | Decimal | None) -> int:
    """The exact integer sum from the two parts of `split_sum` (0 when every value was NULL)."""
    return int(high or 0) * _SPLIT + int(low or 0)
