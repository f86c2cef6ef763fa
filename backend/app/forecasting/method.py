"""The month-end / quarter-end forecast, as plain arithmetic on a daily series (no database, no web framework).

Method, "weekday-aware trimmed run rate" (documented in docs/forecast-and-anomalies.md):

1. History is the `WINDOW` (28) whole UTC days before `as_of` (as_of itself is the last *actual* day and may be
   partial when it is today), cut to start at the first day with any spend (a team that started last week has a
   week of history, not three weeks of zeros).
2. Weekday index: the median of each weekday's values over the history, divided by the mean of those seven
   medians (so the seven indices average exactly 1: over whole weeks the index moves nothing, it only shapes the
   days). Used only with at least `WEEKDAY_MIN_DAYS` (14) days of history, so every weekday has two values, and
   only when the series has a weekly shape (`weekly_shape`: the weekday medians halve the spread); otherwise
   every index is 1.
3. Level: the 10 % trimmed mean of the history divided by its weekday index (a spike or a dead day does not
   move it).
4. Each remaining day of the period expects level × its weekday's index.
5. Interval: an 80 % prediction interval of the period's total, the wider on each side of two:
   - a seeded bootstrap (day-to-day noise): each of `DRAWS` draws re-estimates the level from the history
     resampled with replacement and adds to every remaining day a residual (actual − fitted) drawn at random,
     floored at zero spend; the 10th and 90th percentiles of the drawn totals;
   - bounds calibrated on the series' own past errors (`calibrated_errors`; drift and trends): the same method
     run from up to `ORIGINS` (56) earlier days, each forecasting as many days ahead as remain now from its own
     28 days before; the split-conformal 10th and 90th percentiles of those sums' relative errors (actual /
     forecast − 1), applied to the remaining days' expectation. Only with at least `MIN_ORIGINS` (14) such
     backtests (spend on 28 days plus as many days as remain).

With 1 to 13 days of history it is a flat run rate (the trimmed mean of what exists: "insufficient history: run
rate"); with none, nothing is expected beyond the actual ("insufficient history: actual only").

Amounts are integer micro-USD in and out; the point forecast is exact (fractions, rounded once half-even).
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

WINDOW = 28  # days of history
WEEKDAY_MIN_DAYS = 14  # history needed for a weekday index (two values of every weekday)
WEEKLY_GAIN = Fraction(1, 2)  # a weekday index only when it halves the spread (see `weekly_shape`)
TRIM = Fraction(1, 10)  # share trimmed at each end of the level's mean
DRAWS = 1000  # bootstrap draws of the interval
LEVEL = Fraction(8, 10)  # the interval's coverage
SEED = 14  # the bootstrap's seed: the same data gives the same interval
ORIGINS = 56  # earlier days the method is backtested from, for the calibrated interval
MIN_ORIGINS = 14  # backtests needed for the calibrated interval; fewer: the bootstrap
MAX_AHEAD = 92  # the longest period (a quarter) less its first day
LOOKBACK = WINDOW + MAX_AHEAD + ORIGINS + 1  # days before as_of a forecast may read (history and backtests)

METHOD_FULL = "weekday-aware trimmed run rate (28 days)"
METHOD_FLAT = "insufficient history: run rate"
METHOD_NONE = "insufficient history: actual only"


@dataclass(frozen=True, slots=True)
class Forecast:
    """The expected spend per remaining day and the period total's interval, in micro-USD."""

    expected: list[tuple[date, int]]  # each day after as_of to the period's end
    actual_to_date: int
    expected_total: int  # actual to date + the remaining days' expectations
    interval_low: int
    interval_high: int
    method: str
    history_days: int


def round_half_even(value: Fraction) -> int:
    """`value` to the nearest integer, ties to even (as `round` does for a Fraction)."""
    return round(value)


def trimmed_mean(values: Sequence[Fraction | int], trim: Fraction = TRIM) -> Fraction:
    """The mean of `values` after dropping floor(trim × n) of the smallest and of the largest (an exact
    fraction); the plain mean when that would drop nothing or everything."""
    ordered = sorted(Fraction(v) for v in values)
    cut = math.floor(trim * len(ordered))
    kept = ordered[cut:len(ordered) - cut] if len(ordered) > 2 * cut else ordered
    return sum(kept, Fraction(0)) / len(kept)


def weekday_index(days: Sequence[date], values: Sequence[int]) -> dict[int, Fraction]:
    """Weekday (0 Monday … 6 Sunday) → its median over `values` divided by the mean of the weekday medians; all 1
    when that mean is zero or a weekday has no value."""
    by_weekday: dict[int, list[Fraction]] = {w: [] for w in range(7)}
    for day, value in zip(days, values, strict=True):
        by_weekday[day.weekday()].append(Fraction(value))
    if any(not v for v in by_weekday.values()):
        return {w: Fraction(1) for w in range(7)}
    medians = {w: statistics.median(v) for w, v in by_weekday.items()}
    mean = sum(medians.values(), Fraction(0)) / 7
    if mean == 0:
        return {w: Fraction(1) for w in range(7)}
    return {w: Fraction(m) / mean for w, m in medians.items()}


def weekly_shape(days: Sequence[date], values: Sequence[int]) -> bool:
    """Whether the history has a weekly shape worth an index: measuring each day against its own weekday's median
    at least halves the mean absolute deviation from the overall median (`WEEKLY_GAIN`). Sparse or merely noisy
    series fail this, and a weekday index fitted to their noise would multiply it."""
    by_weekday: dict[int, list[int]] = {}
    for day, value in zip(days, values, strict=True):
        by_weekday.setdefault(day.weekday(), []).append(value)
    medians = {w: statistics.median(v) for w, v in by_weekday.items()}
    centre = statistics.median(values)
    plain = sum(abs(v - centre) for v in values)
    weekly = sum(abs(v - medians[d.weekday()]) for d, v in zip(days, values, strict=True))
    return weekly < WEEKLY_GAIN * plain


def history(series: dict[date, int], as_of: date, window: int = WINDOW) -> tuple[list[date], list[int]]:
    """The `window` days before `as_of` from the first with spend, and their spend (0 for a day absent from
    `series`)."""
    days = [as_of - timedelta(days=window - i) for i in range(window)]
    first = next((i for i, day in enumerate(days) if series.get(day, 0) != 0), len(days))
    kept = days[first:]
    return kept, [series.get(day, 0) for day in kept]


def _fit(days: Sequence[date], values: Sequence[int]) -> tuple[Fraction, dict[int, Fraction], str]:
    """(level, weekday index, method) of a history."""
    if not days:
        return Fraction(0), {w: Fraction(1) for w in range(7)}, METHOD_NONE
    if len(days) < WEEKDAY_MIN_DAYS:
        return trimmed_mean(values), {w: Fraction(1) for w in range(7)}, METHOD_FLAT
    index = weekday_index(days, values) if weekly_shape(days, values) else {w: Fraction(1) for w in range(7)}
    # A weekday whose median is zero (no work on Sundays) expects zero whatever the level: it says nothing of it.
    adjusted = [Fraction(v) / index[d.weekday()] for d, v in zip(days, values, strict=True) if index[d.weekday()]]
    return trimmed_mean(adjusted), index, METHOD_FULL


def _fit_float(days: Sequence[date], values: Sequence[int]) -> tuple[float, dict[int, float]]:
    """`_fit` of a history of at least `WEEKDAY_MIN_DAYS` in floats (the backtests run it dozens of times; their
    errors need no exact arithmetic)."""
    index = {w: 1.0 for w in range(7)}
    if weekly_shape(days, values):
        by_weekday: dict[int, list[int]] = {w: [] for w in range(7)}
        for day, value in zip(days, values, strict=True):
            by_weekday[day.weekday()].append(value)
        medians = {w: float(statistics.median(v)) for w, v in by_weekday.items()}
        mean = sum(medians.values()) / 7
        if mean > 0:
            index = {w: m / mean for w, m in medians.items()}
    adjusted = sorted(v / index[d.weekday()] for d, v in zip(days, values, strict=True) if index[d.weekday()])
    cut = math.floor(TRIM * len(adjusted))
    kept = adjusted[cut:len(adjusted) - cut] if len(adjusted) > 2 * cut else adjusted
    return sum(kept) / len(kept), index


def _percentile(ordered: Sequence[float], share: float) -> float:
    """The `share` quantile of sorted samples, by linear interpolation between closest ranks."""
    position = share * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _bootstrap(days: Sequence[date], values: Sequence[int], level: Fraction, index: dict[int, Fraction],
               remaining: Sequence[date], method: str) -> tuple[float, float]:
    """The 10th and 90th percentiles of the remaining days' drawn total (micro-USD, floats)."""
    if not remaining or not days:
        return 0.0, 0.0
    rng = random.Random(SEED)  # noqa: S311 - a reproducible resample, not a secret
    weights = [float(index[d.weekday()]) for d in days]
    residuals = [v - float(level) * w for v, w in zip(values, weights, strict=True)]
    adjusted = [v / w for v, w in zip(values, weights, strict=True) if w]
    source = adjusted if method == METHOD_FULL else [float(v) for v in values]
    ahead = [float(index[d.weekday()]) for d in remaining]
    n, cut = len(source), math.floor(TRIM * len(source))
    totals = []
    for _ in range(DRAWS):
        sample = sorted(rng.choices(source, k=n))
        kept = sample[cut:n - cut] if n > 2 * cut else sample
        drawn_level = sum(kept) / len(kept)
        totals.append(sum(max(0.0, drawn_level * w + rng.choice(residuals)) for w in ahead))
    totals.sort()
    tail = float((1 - LEVEL) / 2)
    return _percentile(totals, tail), _percentile(totals, 1 - tail)


def _order_statistic(ordered: Sequence[float], rank: int) -> float:
    """The `rank`-th smallest (1-based, clamped to the samples) of sorted samples."""
    return ordered[min(max(rank, 1), len(ordered)) - 1]


def calibrated_errors(series: dict[date, int], as_of: date, ahead: int) -> list[float]:
    """The relative errors (actual / forecast − 1) of the method's `ahead`-day sums when run from up to `ORIGINS`
    earlier days: from each day o (as_of's stand-in: not history, its 28 days before are) with at least
    `WEEKDAY_MIN_DAYS` of history, the days o+1 … o+ahead, all before `as_of` (today may be partial). Backtests
    that expected nothing are left out. Latest first."""
    errors: list[float] = []
    if ahead <= 0:
        return errors
    for j in range(ORIGINS):
        origin = as_of - timedelta(days=1 + ahead + j)
        days, values = history(series, origin)
        if len(days) < WEEKDAY_MIN_DAYS:
            break  # earlier origins have less history still
        level, index = _fit_float(days, values)
        targets = [origin + timedelta(days=i) for i in range(1, ahead + 1)]
        predicted = sum(level * index[d.weekday()] for d in targets)
        if predicted > 0:
            errors.append(sum(series.get(d, 0) for d in targets) / predicted - 1)
    return errors


def _calibrated(errors: Sequence[float], rest: int) -> tuple[float, float]:
    """The remaining days' 10th and 90th percentile sums (micro-USD, floats) from backtest errors: the
    split-conformal ranks ⌊(1 − 0.8)/2 × (n + 1)⌋ and ⌈(1 + 0.8)/2 × (n + 1)⌉ of the n sorted errors (with n
    exchangeable errors, a new one falls between them at least 8 times in 10)."""
    ordered = sorted(errors)
    n, tail = len(ordered), float((1 - LEVEL) / 2)
    low = _order_statistic(ordered, math.floor(tail * (n + 1)))
    high = _order_statistic(ordered, math.ceil((1 - tail) * (n + 1)))
    return max(0.0, rest * (1 + low)), max(0.0, rest * (1 + high))


def forecast(series: dict[date, int], *, period_start: date, period_end: date, as_of: date) -> Forecast:
    """The forecast of the period [period_start, period_end] (UTC days, inclusive) made at the end of `as_of`
    (inside the period), from `series` (UTC day → spend in micro-USD; absent days spent nothing)."""
    if not period_start <= as_of <= period_end:
        raise ValueError("as_of must be inside the period")
    actual = sum(series.get(period_start + timedelta(days=i), 0) for i in range((as_of - period_start).days + 1))
    days, values = history(series, as_of)
    level, index, method = _fit(days, values)
    remaining = [as_of + timedelta(days=i) for i in range(1, (period_end - as_of).days + 1)]
    expected = [(day, round_half_even(level * index[day.weekday()])) for day in remaining]
    rest = sum(v for _, v in expected)
    errors = calibrated_errors(series, as_of, len(remaining)) if method == METHOD_FULL else []
    low, high = _bootstrap(days, values, level, index, remaining, method)
    if len(errors) >= MIN_ORIGINS:
        # The wider of the two on each side: the bootstrap alone held 70-76 % of the backtest's totals, the
        # calibrated bounds alone 65-73 % (a few dozen overlapping backtests are few independent errors), the
        # union 76-83 % (bench/README.md, forecast.py).
        calibrated_low, calibrated_high = _calibrated(errors, rest)
        low, high = min(low, calibrated_low), max(high, calibrated_high)
    total = actual + rest
    return Forecast(expected=expected, actual_to_date=actual, expected_total=total,
                    interval_low=min(total, actual + round(low)),
                    interval_high=max(total, actual + round(high)), method=method, history_days=len(days))


def naive_run_rate(series: dict[date, int], *, period_start: date, period_end: date, as_of: date) -> int:
    """The baseline: spend so far / days elapsed × days in the period (micro-USD, rounded half-even)."""
    elapsed = (as_of - period_start).days + 1
    actual = sum(series.get(period_start + timedelta(days=i), 0) for i in range(elapsed))
    return round_half_even(Fraction(actual * ((period_end - period_start).days + 1), elapsed))
