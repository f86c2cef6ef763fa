"""The cost model: a job's run split into UTC days, with its billed or estimated cost spread over them.

Pure integer arithmetic, no database: instants are integer milliseconds since the Unix epoch (UTC), GPU counts
integer thousandths (`gpu_milli`), GPU time integer GPU-microseconds (`gpu_milli × run_ms`), money integer
micro-USD. Exact shares are `Fraction`s; each job's cost is rounded half-even once, then spread over its days by
largest remainder, so a job's days sum to its cost exactly and no day is negative.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

from app.db.models import CostSource

MS_PER_DAY = 86_400_000
# GPU-microseconds in one GPU-hour: gpu_us × (micro-USD per GPU-hour) / US_PER_HOUR = micro-USD.
US_PER_HOUR = 3_600_000_000
_EPOCH_DAY = date(1970, 1, 1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)


@dataclass(frozen=True, slots=True)
class PricePoint:
    """A rate valid from `valid_from_ms` (epoch ms) until the next point of the same (provider, GPU type): exactly
    `micros_per_gpu_hour / divisor` micro-USD per GPU-hour (`divisor` > 1 for a MIG slice priced at g/7 of its
    parent, so the fraction is carried to the job's total and rounded once there, never on the rate).
    `micros_per_gpu_hour` None: no rate from `valid_from_ms` (a rate's `valid_to` with nothing after it)."""

    valid_from_ms: int
    micros_per_gpu_hour: int | None
    divisor: int = 1


@dataclass(frozen=True, slots=True)
class DayShare:
    """One cost snapshot: the part of a job's run inside UTC `day`. `cost_micros` is None when unpriced."""

    day: date
    run_ms: int
    gpu_us: int
    cost_micros: int | None


@dataclass(frozen=True, slots=True)
class JobCosting:
    """A job's resolved cost (micro-USD; None when unpriced), where it came from, its GPU time and its days."""

    cost_micros: int | None
    source: CostSource
    gpu_us: int
    days: tuple[DayShare, ...]


def to_epoch_ms(instant: datetime) -> int:
    """An aware datetime as integer milliseconds since the epoch (sub-millisecond digits dropped)."""
    if instant.tzinfo is None:
        raise ValueError("naive datetime")
    return (instant - _EPOCH) // _ONE_MS


def day_of(ms: int) -> date:
    """The UTC day containing the instant `ms`."""
    return _EPOCH_DAY + timedelta(days=ms // MS_PER_DAY)


def split_run(start_ms: int, end_ms: int) -> list[tuple[date, int, int]]:
    """`[start, end)` cut at UTC midnights: `(day, from_ms, to_ms)` per day touched, in order.

    A zero-length run is one empty piece on its start day (it still has a day to carry a billed cost).
    Raises ValueError when `end_ms < start_ms`.
    """
    if end_ms < start_ms:
        raise ValueError("run ends before it starts")
    if end_ms == start_ms:
        return [(day_of(start_ms), start_ms, start_ms)]
    pieces = []
    cursor = start_ms
    while cursor < end_ms:
        next_midnight = (cursor // MS_PER_DAY + 1) * MS_PER_DAY
        piece_end = min(next_midnight, end_ms)
        pieces.append((day_of(cursor), cursor, piece_end))
        cursor = piece_end
    return pieces


def spread(total: int, exact: Sequence[Fraction]) -> list[int]:
    """Integers summing to `total`, each the floor of its exact share plus at most one unit.

    Largest remainder: every share is floored, and the units still missing go to the largest fractional parts
    (earlier items first on ties). `total` must lie between the sum of the floors and that sum plus the number
    of non-integral shares, which holds whenever `total` is the sum of `exact` rounded to an integer.
    """
    denominator = math.lcm(*(share.denominator for share in exact)) if exact else 1
    return spread_over(total, [share.numerator * (denominator // share.denominator) for share in exact],
                        denominator)


def price_at(points: Sequence[PricePoint], ms: int) -> PricePoint | None:
    """The point valid at `ms`: the last with `valid_from_ms <= ms`; None before the first. `points` sorted."""
    index = bisect_right([p.valid_from_ms for p in points], ms)
    return points[index - 1] if index else None


def _covered(points: Sequence[PricePoint], start_ms: int, end_ms: int) -> bool:
    """Whether a rate is in force at every instant of `[start, end)` (at `start` for a zero-length run)."""
    first = price_at(points, start_ms)
    if first is None or first.micros_per_gpu_hour is None:
        return False
    return all(p.micros_per_gpu_hour is not None for p in points if start_ms < p.valid_from_ms < end_ms)


def _estimated_numerator(points: Sequence[PricePoint], gpu_milli: int, from_ms: int, to_ms: int,
                         scale: int) -> int:
    """Exact micro-USD × US_PER_HOUR × `scale` for `gpu_milli` GPUs over `[from, to)`, cutting at every price
    change inside it (an integer when `scale` is a multiple of every point's divisor). The run must be covered."""
    total = 0
    cursor = from_ms
    while cursor < to_ms:
        point = price_at(points, cursor)
        if point is None or point.micros_per_gpu_hour is None:
            raise ValueError("no price valid during the run")
        later = [p.valid_from_ms for p in points if p.valid_from_ms > cursor]
        piece_end = min([to_ms, *later])
        total += gpu_milli * (piece_end - cursor) * point.micros_per_gpu_hour * (scale // point.divisor)
        cursor = piece_end
    return total


def spread_over(total: int, numerators: Sequence[int], denominator: int) -> list[int]:
    """`spread(total, [n / denominator for n in numerators])` in integer arithmetic (no Fraction per share)."""
    floors = [n // denominator for n in numerators]
    remainders = [n % denominator for n in numerators]
    missing = total - sum(floors)
    if missing < 0 or missing > sum(1 for r in remainders if r):
        raise ValueError(f"cannot spread {total} over shares summing to {sum(numerators)}/{denominator}")
    for i in sorted(range(len(numerators)), key=lambda i: (-remainders[i], i))[:missing]:
        floors[i] += 1
    return floors


def round_half_even(numerator: int, denominator: int) -> int:
    """`numerator / denominator` (denominator > 0) rounded half-even to an integer, in integer arithmetic."""
    quotient, remainder = divmod(numerator, denominator)
    if remainder * 2 > denominator or (remainder * 2 == denominator and quotient % 2):
        quotient += 1
    return quotient


def cost_job(*, start_ms: int | None, end_ms: int | None, gpu_milli: int, billed_micros: int | None,
             prices: Sequence[PricePoint]) -> JobCosting:
    """Cost one job as DESIGN.md's cost model says.

    `start_ms`/`end_ms`: the run `[started_at, ended_at)` (or `[started_at, observed_at)` while running); no
    `start_ms` means the job never ran (no days, no GPU time). `prices`: the rate points of the job's
    (provider, GPU type), sorted by `valid_from_ms`, empty when the catalog has none.

    - billed (`billed_micros` given): spread over the days in proportion to run time; a zero-length run puts
      all of it on its start day.
    - estimated (a rate in force at every instant of the run): each day's GPU time × the rate in force, cut at
      rate changes; the job's exact total (rates carried as fractions, see PricePoint.divisor) rounded
      half-even to a micro-USD once, then spread by largest remainder.
    - unpriced (neither; also a run only partly covered by rates, e.g. one that outlasts a rate's `valid_to`):
      GPU time is kept, cost is None everywhere. A job that never ran costs 0 (estimated) when its pair has a
      rate at some time, else it is unpriced.
    """
    if start_ms is None:
        if billed_micros is not None:
            raise ValueError("a billed cost needs a run start")
        if any(p.micros_per_gpu_hour is not None for p in prices):
            return JobCosting(0, CostSource.estimated, 0, ())
        return JobCosting(None, CostSource.unpriced, 0, ())
    if end_ms is None:
        raise ValueError("a started job needs an end (ended_at or observed_at)")
    pieces = split_run(start_ms, end_ms)
    run_ms = [to - frm for _, frm, to in pieces]
    gpu_us = [gpu_milli * ms for ms in run_ms]
    total_run = sum(run_ms)

    if billed_micros is not None:
        if total_run == 0:
            costs: list[int | None] = [billed_micros] + [0] * (len(pieces) - 1)
        else:
            costs = list(spread_over(billed_micros, [billed_micros * ms for ms in run_ms], total_run))
        return JobCosting(billed_micros, CostSource.billed, sum(gpu_us),
                          _days(pieces, run_ms, gpu_us, costs))

    if prices and _covered(prices, start_ms, end_ms):
        scale = math.lcm(*(p.divisor for p in prices))
        exact = [_estimated_numerator(prices, gpu_milli, frm, to, scale) for _, frm, to in pieces]
        denominator = US_PER_HOUR * scale
        total = round_half_even(sum(exact), denominator)
        costs = list(spread_over(total, exact, denominator))
        return JobCosting(total, CostSource.estimated, sum(gpu_us), _days(pieces, run_ms, gpu_us, costs))

    return JobCosting(None, CostSource.unpriced, sum(gpu_us),
                      _days(pieces, run_ms, gpu_us, [None] * len(pieces)))


def _days(pieces: list[tuple[date, int, int]], run_ms: list[int], gpu_us: list[int],
          costs: list[int | None]) -> tuple[DayShare, ...]:
    return tuple(DayShare(day, ms, us, cost)
                 for (day, _, _), ms, us, cost in zip(pieces, run_ms, gpu_us, costs, strict=True))
