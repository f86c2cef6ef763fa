"""Spend anomalies, as plain arithmetic on one group's daily series (no database, no web framework).

Rule (documented in docs/forecast-and-anomalies.md): a day is a spike when its spend is far above what the
group's own trailing `WINDOW` (28) days make usual:

- history: the 28 UTC days before the day, from the group's first day with spend; fewer than `MIN_HISTORY` (7)
  days of history: the day is not judged (a new team's first days are not anomalies);
- expected: the median of the history, and its scale 1.4826 × the median absolute deviation (MAD, the robust
  stand-in for a standard deviation); with at least `WEEKDAY_MIN_DAYS` (21, three of each weekday) days of a
  series with a weekly shape (`method.weekly_shape`: the weekday medians halve the spread), each day is first
  divided by its weekday's index (its median over the mean of the seven medians), the median and MAD taken over
  all the days so divided, and both multiplied back by the judged day's index, the scale also by
  √(1 + 1.25² / n) for the error of that weekday's median of n values;
- the scale is at least `MIN_SCALE_SHARE` (10 %) of the expected value, so a perfectly flat series does not make
  every cent of change infinitely surprising;
- score = (actual − expected) / scale; an anomaly when score ≥ the threshold (setting
  `JOBCOST_ANOMALY_THRESHOLD`, default 3.5) **and** actual − expected ≥ the floor (setting
  `JOBCOST_ANOMALY_MIN_USD`, default 10 USD), so tiny series do not flood. Only spikes (spend up) are reported.

Amounts are integer micro-USD.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from app.forecasting.method import weekly_shape

WINDOW = 28
MIN_HISTORY = 7
WEEKDAY_MIN_DAYS = 21
MIN_SCALE_SHARE = 0.10
MAD_TO_SIGMA = 1.4826  # the MAD of normal data × this is its standard deviation
DEFAULT_THRESHOLD = 3.5


@dataclass(frozen=True, slots=True)
class Flag:
    """One anomalous day of a series: its spend and what was expected (micro-USD), and the robust z-score."""

    day: date
    actual: int
    expected: int
    score: float


def _mad(values: Sequence[float], centre: float) -> float:
    return statistics.median(abs(v - centre) for v in values)


def baseline(days: Sequence[date], values: Sequence[int], day: date) -> tuple[float, float]:
    """(expected, scale) of `day` from a history (`days` with `values`), before the scale's floor."""
    centre = statistics.median(values)
    scale = MAD_TO_SIGMA * _mad(values, centre)
    if len(days) < WEEKDAY_MIN_DAYS:
        return float(centre), scale
    by_weekday: dict[int, list[int]] = {}
    for d, v in zip(days, values, strict=True):
        by_weekday.setdefault(d.weekday(), []).append(v)
    medians = {w: statistics.median(v) for w, v in by_weekday.items()}
    mean = statistics.fmean(medians.values())
    if day.weekday() not in medians or mean <= 0 or any(m <= 0 for m in medians.values()):
        return float(centre), scale
    # Each day divided by its weekday's index (its median over the mean of the medians): the weekly shape taken
    # out, the median and MAD of all the days, not of three or four, then put back for the day judged.
    index = {w: m / mean for w, m in medians.items()}
    shaped = [v / index[d.weekday()] for d, v in zip(days, values, strict=True)]
    shaped_centre = statistics.median(shaped)
    shaped_scale = MAD_TO_SIGMA * _mad(shaped, shaped_centre)
    # The day's own weekday median rests on three or four values: its error (about 1.25 σ / √n for a median)
    # adds to the day's, so the scale grows by √(1 + 1.25² / n).
    weight = index[day.weekday()] * math.sqrt(1 + 1.5625 / len(by_weekday[day.weekday()]))
    if weekly_shape(days, values):
        return float(shaped_centre * index[day.weekday()]), shaped_scale * weight
    return float(centre), scale


def detect(series: dict[date, int], *, start: date, end: date, threshold: float = DEFAULT_THRESHOLD,
           floor: int = 0) -> list[Flag]:
    """The spikes of `series` (UTC day → micro-USD; absent days spent nothing) among the days [start, end], by
    the rule above, with `threshold` (robust z) and `floor` (micro-USD above expected)."""
    spending = sorted(day for day, value in series.items() if value)
    if not spending:
        return []
    first = spending[0]
    found = []
    day = start
    while day <= end:
        days = [day - timedelta(days=WINDOW - i) for i in range(WINDOW)]
        days = [d for d in days if d >= first]
        if len(days) >= MIN_HISTORY:
            values = [series.get(d, 0) for d in days]
            expected, scale = baseline(days, values, day)
            scale = max(scale, MIN_SCALE_SHARE * expected, 1.0)
            actual = series.get(day, 0)
            score = (actual - expected) / scale
            if score >= threshold and actual - expected >= floor:
                found.append(Flag(day, actual, round(expected), round(score, 2)))
        day += timedelta(days=1)
    return found
