"""The forecast and anomaly arithmetic on hand-made series (no database): exact totals for a known weekday
pattern, the fall-backs with little history, period edges, the interval's order, and spikes found or not."""

from __future__ import annotations

import random
from datetime import date, timedelta
from fractions import Fraction

import pytest

from app.forecasting import anomaly, method
from app.forecasting.service import period_bounds

USD = 1_000_000  # micro-USD
# Monday … Sunday: a weekly shape with quiet weekends (USD).
PATTERN = (100, 120, 110, 100, 90, 30, 10)


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def weekly(first: date, last: date, pattern: tuple[int, ...] = PATTERN) -> dict[date, int]:
    return {d: pattern[d.weekday()] * USD for d in days(first, last)}


def test_a_known_weekday_pattern_gives_the_exact_total() -> None:
    series = weekly(date(2026, 1, 1), date(2026, 3, 31))
    result = method.forecast(series, period_start=date(2026, 3, 1), period_end=date(2026, 3, 31),
                             as_of=date(2026, 3, 10))
    # Independently: the pattern summed over March's days.
    assert result.expected_total == sum(PATTERN[d.weekday()] for d in days(date(2026, 3, 1), date(2026, 3, 31))) * USD
    assert result.actual_to_date == sum(PATTERN[d.weekday()] for d in days(date(2026, 3, 1), date(2026, 3, 10))) * USD
    assert result.expected == [(d, PATTERN[d.weekday()] * USD) for d in days(date(2026, 3, 11), date(2026, 3, 31))]
    assert result.method == method.METHOD_FULL
    assert result.history_days == 28
    # No noise around the pattern: the interval is the point.
    assert result.interval_low == result.expected_total == result.interval_high


def test_a_spike_in_the_history_moves_the_forecast_little() -> None:
    series = weekly(date(2026, 1, 1), date(2026, 3, 31), (100,) * 7)
    series[date(2026, 3, 5)] = 10_000 * USD
    result = method.forecast(series, period_start=date(2026, 3, 1), period_end=date(2026, 3, 31),
                             as_of=date(2026, 3, 10))
    # The trimmed mean drops the spike: every remaining day still expects 100 USD.
    assert all(value == 100 * USD for _, value in result.expected)
    assert method.naive_run_rate(series, period_start=date(2026, 3, 1), period_end=date(2026, 3, 31),
                                 as_of=date(2026, 3, 10)) == (900 + 10_000) * 31 * USD // 10


def test_the_interval_is_ordered_and_holds_the_point() -> None:
    rng = random.Random(3)
    series = {d: rng.randrange(50, 150) * USD for d in days(date(2026, 1, 1), date(2026, 3, 31))}
    result = method.forecast(series, period_start=date(2026, 3, 1), period_end=date(2026, 3, 31),
                             as_of=date(2026, 3, 14))
    assert result.actual_to_date < result.interval_low < result.expected_total < result.interval_high
    # Seeded: the same series gives the same interval.
    again = method.forecast(series, period_start=date(2026, 3, 1), period_end=date(2026, 3, 31),
                            as_of=date(2026, 3, 14))
    assert (again.interval_low, again.interval_high) == (result.interval_low, result.interval_high)


def test_a_sparse_series_gets_no_weekday_index() -> None:
    # Two Mondays and a Wednesday spend in 20 days of history: no weekly shape (the distances to the weekday
    # medians, Monday 400 and Wednesday 0, sum to 400 + 50.50 + 999 = 1,449.50, not under half the 1,849.50 to
    # the overall median 0), so the level is flat: the 10 % trimmed mean of the 20 days drops 999 and 450.50 (and
    # two zeros), leaving 400 / 16 = 25 USD for each day left.
    series = {date(2025, 12, 31): 999 * USD, date(2026, 1, 5): 400 * USD, date(2026, 1, 19): 450_500_000}
    result = method.forecast(series, period_start=date(2026, 1, 1), period_end=date(2026, 1, 31),
                             as_of=date(2026, 1, 20))
    assert (result.method, result.history_days) == (method.METHOD_FULL, 20)
    assert [v for _, v in result.expected] == [25 * USD] * 11
    assert result.expected_total == 850_500_000 + 275 * USD


def test_little_history_is_a_flat_run_rate_and_none_is_actual_only() -> None:
    series = {date(2026, 3, 7): 30 * USD, date(2026, 3, 8): 60 * USD, date(2026, 3, 9): 90 * USD,
              date(2026, 3, 10): 5 * USD}
    result = method.forecast(series, period_start=date(2026, 3, 1), period_end=date(2026, 3, 31),
                             as_of=date(2026, 3, 10))
    assert result.method == method.METHOD_FLAT
    assert result.history_days == 3  # the 7th to the 9th; the 10th is actual
    assert [v for _, v in result.expected] == [60 * USD] * 21
    assert result.expected_total == (185 + 21 * 60) * USD
    assert result.interval_low <= result.expected_total <= result.interval_high

    empty = method.forecast({}, period_start=date(2026, 3, 1), period_end=date(2026, 3, 31), as_of=date(2026, 3, 10))
    assert (empty.method, empty.expected_total, empty.interval_low, empty.interval_high) == (
        method.METHOD_NONE, 0, 0, 0)
    first = method.forecast({date(2026, 3, 10): 7 * USD}, period_start=date(2026, 3, 1),
                            period_end=date(2026, 3, 31), as_of=date(2026, 3, 10))
    assert (first.method, first.expected_total) == (method.METHOD_NONE, 7 * USD)


@pytest.mark.parametrize(("as_of", "period", "bounds"), [
    (date(2026, 3, 1), "month", (date(2026, 3, 1), date(2026, 3, 31))),
    (date(2026, 3, 31), "month", (date(2026, 3, 1), date(2026, 3, 31))),
    (date(2024, 2, 29), "month", (date(2024, 2, 1), date(2024, 2, 29))),
    (date(2026, 12, 31), "month", (date(2026, 12, 1), date(2026, 12, 31))),
    (date(2026, 4, 1), "quarter", (date(2026, 4, 1), date(2026, 6, 30))),
    (date(2026, 3, 31), "quarter", (date(2026, 1, 1), date(2026, 3, 31))),
    (date(2026, 11, 15), "quarter", (date(2026, 10, 1), date(2026, 12, 31))),
])
def test_period_bounds(as_of: date, period: str, bounds: tuple[date, date]) -> None:
    assert period_bounds(period, as_of) == bounds  # type: ignore[arg-type]


def test_the_last_day_of_the_period_expects_nothing_more() -> None:
    series = weekly(date(2026, 1, 1), date(2026, 3, 31))
    result = method.forecast(series, period_start=date(2026, 1, 1), period_end=date(2026, 3, 31),
                             as_of=date(2026, 3, 31))
    assert result.expected == []
    assert result.expected_total == result.actual_to_date == result.interval_low == result.interval_high


def test_trimmed_mean_drops_a_tenth_at_each_end() -> None:
    # 10 values: one dropped at each end, (2 + … + 9) / 8.
    assert method.trimmed_mean([1, 2, 3, 4, 5, 6, 7, 8, 9, 1000]) == Fraction(44, 8)
    # Under 10 values nothing is dropped.
    assert method.trimmed_mean([5, 5, 5, 1001]) == 254


# --- anomalies ---------------------------------------------------------------------------------------------------

def test_a_planted_spike_is_found_with_its_expected_value() -> None:
    series = weekly(date(2026, 1, 1), date(2026, 2, 28), (100,) * 7)
    series[date(2026, 2, 10)] = 400 * USD
    flags = anomaly.detect(series, start=date(2026, 2, 1), end=date(2026, 2, 28), threshold=3.5, floor=10 * USD)
    assert [(f.day, f.actual, f.expected) for f in flags] == [(date(2026, 2, 10), 400 * USD, 100 * USD)]
    # The scale's floor is 10 % of expected (a flat series has no MAD): (400 - 100) / 10 = 30.
    assert flags[0].score == 30.0


def test_flat_and_weekly_series_give_none() -> None:
    flat = weekly(date(2026, 1, 1), date(2026, 6, 30), (100,) * 7)
    assert anomaly.detect(flat, start=date(2026, 1, 1), end=date(2026, 6, 30)) == []
    shaped = weekly(date(2026, 1, 1), date(2026, 6, 30))
    assert anomaly.detect(shaped, start=date(2026, 1, 1), end=date(2026, 6, 30)) == []
    rng = random.Random(5)
    noisy = {d: round(PATTERN[d.weekday()] * USD * rng.uniform(0.9, 1.1)) for d in days(date(2026, 1, 1),
                                                                                         date(2026, 6, 30))}
    assert anomaly.detect(noisy, start=date(2026, 1, 1), end=date(2026, 6, 30), floor=10 * USD) == []


def test_a_weekend_spike_is_judged_against_weekends() -> None:
    series = weekly(date(2026, 1, 1), date(2026, 2, 28))
    series[date(2026, 2, 15)] = 60 * USD  # a Sunday: 10 USD usual, 60 is six times that (but under a weekday)
    flags = anomaly.detect(series, start=date(2026, 2, 1), end=date(2026, 2, 28), threshold=3.5, floor=10 * USD)
    assert [(f.day, f.expected) for f in flags] == [(date(2026, 2, 15), 10 * USD)]


def test_threshold_and_floor_are_respected() -> None:
    series = weekly(date(2026, 1, 1), date(2026, 2, 28), (100,) * 7)
    series[date(2026, 2, 10)] = 140 * USD  # score (140 - 100) / 10 = 4
    assert len(anomaly.detect(series, start=date(2026, 2, 1), end=date(2026, 2, 28), threshold=3.5)) == 1
    assert anomaly.detect(series, start=date(2026, 2, 1), end=date(2026, 2, 28), threshold=4.5) == []
    assert anomaly.detect(series, start=date(2026, 2, 1), end=date(2026, 2, 28), floor=41 * USD) == []
    # Drops are not anomalies.
    series[date(2026, 2, 10)] = 0
    assert anomaly.detect(series, start=date(2026, 2, 1), end=date(2026, 2, 28)) == []


def test_a_new_series_is_not_judged_before_a_week_of_history() -> None:
    series = {date(2026, 2, 1) + timedelta(days=i): 10 * USD for i in range(6)}
    series[date(2026, 2, 7)] = 1000 * USD  # only 6 days of history
    assert anomaly.detect(series, start=date(2026, 2, 1), end=date(2026, 2, 7)) == []
    series[date(2026, 2, 8)] = 1000 * USD  # 7 days of history now
    assert [f.day for f in anomaly.detect(series, start=date(2026, 2, 1), end=date(2026, 2, 8))] == [
        date(2026, 2, 8)]


# --- the interval's calibration ----------------------------------------------------------------------------------

def test_the_interval_covers_eight_in_ten_totals_of_a_noisy_constant() -> None:
    # A constant 100 USD a day with independent normal noise (sd 20 USD), seeded: 120 draws of six months of
    # history and the month itself, the forecast made at the end of 14 March from the days to then. The truth is
    # the drawn month, summed here; an 80 % interval should hold it about 96 times in 120 (a binomial sd of 4.4
    # draws: 84 to 108 is ± 2.7 sd).
    first, start, end, as_of = date(2025, 9, 1), date(2026, 3, 1), date(2026, 3, 31), date(2026, 3, 14)
    inside = 0
    for seed in range(120):
        rng = random.Random(seed)
        drawn = {d: max(0, round((100 + rng.gauss(0, 20)) * USD)) for d in days(first, end)}
        truth = sum(drawn[d] for d in days(start, end))
        result = method.forecast({d: v for d, v in drawn.items() if d <= as_of}, period_start=start,
                                 period_end=end, as_of=as_of)
        inside += result.interval_low <= truth <= result.interval_high
    assert 84 <= inside <= 108


def test_a_linear_trend_is_forecast_at_its_window_mean_and_the_interval_reaches_the_truth() -> None:
    # 1,000 USD on 1 October 2025, 10 USD more every day. No weekly shape (each weekday's median sits as far from
    # its values as the overall median does), so every remaining day expects the trimmed mean of the 28 days
    # before as_of: symmetric trimming of a straight line keeps its mean, the value 14.5 days before as_of.
    first, start, end, as_of = date(2025, 10, 1), date(2026, 3, 1), date(2026, 3, 31), date(2026, 3, 14)

    def value(day: date) -> int:
        return (1000 + 10 * (day - first).days) * USD

    series = {d: value(d) for d in days(first, as_of)}
    result = method.forecast(series, period_start=start, period_end=end, as_of=as_of)
    level = 1000 + 10 * ((as_of - first).days - 14.5)
    assert [v for _, v in result.expected] == [round(level * USD)] * 17
    truth = sum(value(d) for d in days(start, end))
    # The method has no trend term, so it falls short of the truth by 10 USD × (14.5 + 1 … 17 days) summed...
    assert truth - result.expected_total == sum(10 * (14.5 + i) for i in range(1, 18)) * USD
    # ... and the interval, calibrated on the same shortfall at earlier days, reaches past it.
    assert result.interval_low <= result.expected_total < truth <= result.interval_high


def test_the_calibrated_interval_uses_the_conformal_ranks() -> None:
    # 19 errors -1 %, -2 % … -19 % and one +50 %: n = 20, the ranks ⌊0.1 × 21⌋ = 2 and ⌈0.9 × 21⌉ = 19 of the
    # sorted errors are -18 % and -1 % (the +50 % is the 20th); applied to 1,000 of remaining spend.
    errors = [-i / 100 for i in range(1, 20)] + [0.5]
    low, high = method._calibrated(errors, 1000)
    assert (round(low, 6), round(high, 6)) == (820.0, 990.0)
