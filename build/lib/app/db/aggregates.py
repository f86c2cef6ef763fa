"""Exact sums of BIGINT columns that cannot overflow on SQLite.

PostgreSQL's `sum(bigint)` returns `numeric` and never overflows. SQLite's `sum()` over integers stops with
"integer overflow" past 2^63 (about 9.2 × 10^18): a few jobs near the billed-cost limit (10^12 USD, 10^18 micro-USD
each) or a few million GPU-days of GPU-microseconds would break every analytics query. So each sum is taken in two
parts, the quotient and the remainder of a division by `SPLIT` (10^6), which stay far inside 64 bits, and joined
back in Python: exact on both databases, for the price of a second aggregate. The daily rollups keep their amounts
in these two parts (`app/db/rollups.py`); `joined_sum` puts them back together.
"""

from __future__ import annotations

from decimal import Decimal

SPLIT = 1_000_000  # the divisor of the two parts


def joined_sum(high: int | Decimal | None, low: int | Decimal | None) -> int:
    """The exact integer sum from its two parts, the sums of quotients and of remainders of `SPLIT` (0 when
    every value was NULL)."""
    return int(high or 0) * SPLIT + int(low or 0)
