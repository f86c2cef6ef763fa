"""A reference implementation of DESIGN.md's cost model, for tests only.

Deliberately unlike `app.ingestion.costing`: it walks calendar days with `datetime`, prices intervals in
`Decimal`/`Fraction` USD and GPU counts, and rounds with its own half-even and largest remainder. Tests compare the
service against it (random jobs in test_costing.py, the mock data's totals in test_mock_totals.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction

ONE_MS = timedelta(milliseconds=1)
ONE_US = timedelta(microseconds=1)


@dataclass(frozen=True)
class RefDay:
    day: date
    run_ms: int
    gpu_us: int
    cost_micros: int | None


@dataclass(frozen=True)
class RefCost:
    cost_micros: int | None
    source: str
    gpu_us: int
    days: list[RefDay]


def ref_pieces(start: datetime, end: datetime) -> list[tuple[date, datetime, datetime]]:
    """DESIGN 1–2: [start, end) cut at UTC midnights, walking one calendar day at a time."""
    if start == end:
        return [(start.date(), start, end)]
    pieces = []
    day = start.date()
    while True:
        midnight = datetime.combine(day, time(0), tzinfo=UTC)
        lo = max(start, midnight)
        hi = min(end, midnight + timedelta(days=1))
        if lo >= end:
            return pieces
        pieces.append((day, lo, hi))
        day += timedelta(days=1)


def ref_price(prices: list[tuple[datetime, Decimal]], at: datetime) -> Decimal | None:
    """The USD/GPU-h valid at `at`: the latest price that started at or before it."""
    found = None
    for valid_from, usd in prices:
        if valid_from <= at:
            found = usd
    return found


def ref_round_half_even(x: Fraction) -> int:
    whole = math.floor(x)
    rest = x - whole
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and whole % 2 == 1):
        return whole + 1
    return whole


def ref_largest_remainder(total: int, exact: list[Fraction]) -> list[int]:
    result = [math.floor(x) for x in exact]
    left = total - sum(result)
    assert 0 <= left <= len(exact), (total, exact)
    # Largest fractional part first; on a tie the smaller index (the earlier day) first.
    order = sorted(range(len(exact)), key=lambda i: (exact[i] - result[i], -i), reverse=True)
    for i in order[:left]:
        result[i] += 1
    return result


def reference_cost(start: datetime | None, end: datetime | None, gpu_count: Decimal, billed_usd: Decimal | None,
                   prices: list[tuple[datetime, Decimal]]) -> RefCost:
    """DESIGN.md "Cost model", in USD and GPU counts rather than integer units."""
    if start is None:
        return RefCost(0, "estimated", 0, []) if prices else RefCost(None, "unpriced", 0, [])
    assert end is not None
    pieces = ref_pieces(start, end)
    run_ms = [(hi - lo) // ONE_MS for _, lo, hi in pieces]
    # GPU-microseconds = GPUs × microseconds of run time.
    gpu_us = [Fraction(gpu_count) * ((hi - lo) // ONE_US) for _, lo, hi in pieces]
    assert all(g.denominator == 1 for g in gpu_us)
    gpu_us_int = [int(g) for g in gpu_us]

    if billed_usd is not None:
        total = int(billed_usd * 1_000_000)
        whole_run = end - start
        if whole_run == timedelta(0):
            exact = [Fraction(total) if i == 0 else Fraction(0) for i in range(len(pieces))]
        else:
            exact = [Fraction(total) * Fraction((hi - lo) // ONE_US, whole_run // ONE_US) for _, lo, hi in pieces]
        costs: list[int | None] = list(ref_largest_remainder(total, exact))
        source, cost = "billed", total
    elif ref_price(prices, start) is not None:
        exact = []
        for _, lo, hi in pieces:
            # Cut the day at every price change strictly inside it; each part pays the price valid at its start.
            cuts = sorted({lo, hi, *(valid_from for valid_from, _ in prices if lo < valid_from < hi)})
            usd = Fraction(0)
            for a, b in zip(cuts, cuts[1:], strict=False):
                gpu_hours = Fraction(gpu_count) * Fraction((b - a) // ONE_US, 3_600 * 1_000_000)
                usd += gpu_hours * Fraction(ref_price(prices, a))
            exact.append(usd * 1_000_000)
        cost = ref_round_half_even(sum(exact, Fraction(0)))
        costs = list(ref_largest_remainder(cost, exact))
        source = "estimated"
    else:
        costs, source, cost = [None] * len(pieces), "unpriced", None
    days = [RefDay(day, ms, us, c) for (day, _, _), ms, us, c in zip(pieces, run_ms, gpu_us_int, costs, strict=True)]
    return RefCost(cost, source, sum(gpu_us_int), days)
