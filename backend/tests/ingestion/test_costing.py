"""Unit tests of `app.ingestion.costing`, the cost model of DESIGN.md ("Cost model") with no database.

Two kinds of check:
- hand-computed cases, each worked out in a comment (billed spreads, largest remainder, estimated prices, price
  changes inside a day, unpriced and never-started jobs, half-even rounding of the total);
- a small reference implementation written here straight from DESIGN.md, deliberately different from the code
  under test (it walks `datetime` days, prices intervals with `Decimal`/`Fraction` USD and GPU counts, and does
  its own largest remainder and half-even rounding), compared with `cost_job` on a few hundred seeded random jobs.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction

import pytest

from app.db.models import CostSource
from app.ingestion.costing import (
    DayShare,
    JobCosting,
    PricePoint,
    cost_job,
    day_of,
    price_at,
    split_run,
    spread,
    to_epoch_ms,
)
from tests.ingestion.reference import RefDay, reference_cost

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MS = timedelta(milliseconds=1)
ONE_US = timedelta(microseconds=1)
HOUR_MS = 3_600_000
DAY_MS = 86_400_000

# Epoch milliseconds written out by hand (F09: 2026-01-10T08:00:00Z is 1,768,032,000 s):
#   2026-01-01T00:00Z = 1,768,032,000 − 9 days (777,600 s) − 8 h (28,800 s) = 1,767,225,600 s.
JAN_1 = 1_767_225_600_000
JAN_3 = JAN_1 + 2 * DAY_MS   # 1_767_398_400_000
JAN_4 = JAN_1 + 3 * DAY_MS   # 1_767_484_800_000
JAN_14 = JAN_1 + 13 * DAY_MS  # 1_768_348_800_000
JAN_15 = JAN_1 + 14 * DAY_MS


def h(hours: int, minutes: int = 0) -> int:
    """Milliseconds in `hours` h `minutes` min."""
    return hours * HOUR_MS + minutes * 60_000


def test_hand_written_epoch_constants() -> None:
    assert JAN_3 == 1_767_398_400_000
    assert JAN_14 == 1_768_348_800_000


# --- to_epoch_ms / day_of ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("instant", "ms"), [
    pytest.param(datetime(1970, 1, 1, tzinfo=UTC), 0, id="epoch"),
    pytest.param(datetime(2026, 1, 10, 8, tzinfo=UTC), 1_768_032_000_000, id="f09-instant"),
    pytest.param(datetime(2026, 1, 10, 13, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))),
                 1_768_032_000_000, id="other-offset"),
    pytest.param(datetime(2026, 1, 10, 8, 0, 0, 123_999, tzinfo=UTC), 1_768_032_000_123, id="us-dropped"),
    pytest.param(datetime(1970, 1, 1, 0, 0, 0, 1_999, tzinfo=UTC), 1, id="just-after-epoch"),
    pytest.param(datetime(1969, 12, 31, 23, 59, 59, 999_500, tzinfo=UTC), -1, id="before-epoch-floors"),
])
def test_to_epoch_ms(instant: datetime, ms: int) -> None:
    assert to_epoch_ms(instant) == ms


def test_to_epoch_ms_refuses_naive() -> None:
    with pytest.raises(ValueError, match="naive"):
        to_epoch_ms(datetime(2026, 1, 10, 8))  # noqa: DTZ001 - the naive value is the point


@pytest.mark.parametrize(("ms", "day"), [
    pytest.param(0, date(1970, 1, 1), id="epoch"),
    pytest.param(-1, date(1969, 12, 31), id="one-ms-before-epoch"),
    pytest.param(1_768_032_000_000, date(2026, 1, 10), id="f09-instant"),
    pytest.param(JAN_14, date(2026, 1, 14), id="midnight-is-the-new-day"),
    pytest.param(JAN_14 - 1, date(2026, 1, 13), id="one-ms-before-midnight"),
])
def test_day_of(ms: int, day: date) -> None:
    assert day_of(ms) == day


# --- split_run ---------------------------------------------------------------------------------------------------


def test_split_run_within_one_day() -> None:
    assert split_run(JAN_14 + h(8), JAN_14 + h(12)) == [(date(2026, 1, 14), JAN_14 + h(8), JAN_14 + h(12))]


def test_split_run_across_midnight() -> None:
    assert split_run(JAN_3 + h(22), JAN_4 + h(2)) == [
        (date(2026, 1, 3), JAN_3 + h(22), JAN_4),
        (date(2026, 1, 4), JAN_4, JAN_4 + h(2)),
    ]


def test_split_run_ending_at_midnight_has_no_empty_next_day() -> None:
    assert split_run(JAN_3 + h(22), JAN_4) == [(date(2026, 1, 3), JAN_3 + h(22), JAN_4)]


def test_split_run_midnight_to_midnight_over_three_days() -> None:
    assert split_run(JAN_3, JAN_3 + 3 * DAY_MS) == [
        (date(2026, 1, 3), JAN_3, JAN_4),
        (date(2026, 1, 4), JAN_4, JAN_4 + DAY_MS),
        (date(2026, 1, 5), JAN_4 + DAY_MS, JAN_4 + 2 * DAY_MS),
    ]


@pytest.mark.parametrize("at", [pytest.param(JAN_3 + h(22), id="mid-day"), pytest.param(JAN_4, id="midnight")])
def test_split_run_zero_length_is_one_empty_piece_on_its_day(at: int) -> None:
    assert split_run(at, at) == [(day_of(at), at, at)]


def test_split_run_refuses_end_before_start() -> None:
    with pytest.raises(ValueError):
        split_run(JAN_4, JAN_4 - 1)


# --- spread (largest remainder) ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("total", "shares", "expected"), [
    # Three thirds of 1,000,000: floors 333,333 ×3 = 999,999, one unit left, all remainders ⅓ → earliest.
    pytest.param(1_000_000, [Fraction(1_000_000, 3)] * 3, [333_334, 333_333, 333_333], id="thirds-tie-earliest"),
    # 2.5 + 7.5 = 10: floors 2 + 7 = 9, one unit left, remainders tie at ½ → the first.
    pytest.param(10, [Fraction(5, 2), Fraction(15, 2)], [3, 7], id="halves-tie-earliest"),
    # 1.2 + 3.8 = 5: floors 1 + 3, one unit left → largest remainder 0.8 (the later item).
    pytest.param(5, [Fraction(6, 5), Fraction(19, 5)], [1, 4], id="largest-remainder-wins"),
    # 0.3 + 0.3 + 0.4 = 1: floors 0, one unit → 0.4.
    pytest.param(1, [Fraction(3, 10), Fraction(3, 10), Fraction(2, 5)], [0, 0, 1], id="single-unit"),
    pytest.param(7, [Fraction(3), Fraction(4)], [3, 4], id="integral-shares"),
    pytest.param(0, [Fraction(0), Fraction(0)], [0, 0], id="zeros"),
    pytest.param(0, [], [], id="nothing"),
])
def test_spread(total: int, shares: list[Fraction], expected: list[int]) -> None:
    assert spread(total, shares) == expected


@pytest.mark.parametrize(("total", "shares"), [
    pytest.param(5, [Fraction(1), Fraction(1)], id="integral-shares-total-too-big"),
    pytest.param(1, [Fraction(1), Fraction(1)], id="total-below-floors"),
    pytest.param(4, [Fraction(1, 2), Fraction(1, 2)], id="more-units-than-fractional-shares"),
])
def test_spread_refuses_a_total_the_shares_cannot_reach(total: int, shares: list[Fraction]) -> None:
    with pytest.raises(ValueError):
        spread(total, shares)


# --- price_at ----------------------------------------------------------------------------------------------------

P1 = PricePoint(valid_from_ms=100, micros_per_gpu_hour=2_000_000)
P2 = PricePoint(valid_from_ms=200, micros_per_gpu_hour=3_000_000)


@pytest.mark.parametrize(("ms", "expected"), [
    pytest.param(99, None, id="before-first"),
    pytest.param(100, P1, id="at-first"),
    pytest.param(199, P1, id="between"),
    pytest.param(200, P2, id="at-second"),
    pytest.param(10**15, P2, id="long-after"),
])
def test_price_at(ms: int, expected: PricePoint | None) -> None:
    assert price_at([P1, P2], ms) == expected


def test_price_at_without_points() -> None:
    assert price_at([], 0) is None


# --- cost_job: hand-computed cases -------------------------------------------------------------------------------

SINCE_2020 = 1_577_836_800_000  # 2020-01-01T00:00:00Z, the catalog's valid_from: 18,262 days × 86,400,000 ms


def test_since_2020_constant() -> None:
    assert SINCE_2020 == to_epoch_ms(datetime(2020, 1, 1, tzinfo=UTC))


def test_billed_across_midnight_split_evenly() -> None:
    # 22:00 Jan 3 → 02:00 Jan 4: 2 h on each day, so 10.000000 USD = 5.000000 + 5.000000.
    # 8 GPUs: gpu_us per day = 8,000 × 7,200,000 ms = 57,600,000,000.
    costing = cost_job(start_ms=JAN_3 + h(22), end_ms=JAN_4 + h(2), gpu_milli=8000, billed_micros=10_000_000,
                       prices=[])
    assert costing == JobCosting(
        cost_micros=10_000_000, source=CostSource.billed, gpu_us=115_200_000_000,
        days=(DayShare(date(2026, 1, 3), 7_200_000, 57_600_000_000, 5_000_000),
              DayShare(date(2026, 1, 4), 7_200_000, 57_600_000_000, 5_000_000)))


def test_billed_one_dollar_over_three_equal_days_largest_remainder() -> None:
    # Jan 3 00:00 → Jan 6 00:00, 1.000000 USD = 1,000,000 µUSD over three 24 h days: each exactly 333,333⅓.
    # Floors 333,333 × 3 = 999,999; one µUSD left; the remainders tie at ⅓, so it goes to the earliest day:
    # 0.333334 / 0.333333 / 0.333333.
    costing = cost_job(start_ms=JAN_3, end_ms=JAN_3 + 3 * DAY_MS, gpu_milli=1000, billed_micros=1_000_000, prices=[])
    assert [(d.day, d.cost_micros) for d in costing.days] == [
        (date(2026, 1, 3), 333_334), (date(2026, 1, 4), 333_333), (date(2026, 1, 5), 333_333)]
    assert costing.cost_micros == 1_000_000


def test_billed_uneven_days_largest_remainder_not_earliest() -> None:
    # 21:00 Jan 3 → 00:00 Jan 5: 3 h on Jan 3, 24 h on Jan 4 (27 h). 0.000010 USD = 10 µUSD:
    # Jan 3 exact 10 × 3/27 = 1.111…, Jan 4 exact 10 × 24/27 = 8.888…; floors 1 + 8 = 9, one left → the larger
    # remainder (.888…, Jan 4): 1 / 9.
    costing = cost_job(start_ms=JAN_3 + h(21), end_ms=JAN_4 + DAY_MS, gpu_milli=1000, billed_micros=10, prices=[])
    assert [(d.day, d.run_ms, d.cost_micros) for d in costing.days] == [
        (date(2026, 1, 3), h(3), 1), (date(2026, 1, 4), h(24), 9)]


def test_billed_zero_length_run_all_on_start_day() -> None:
    # started == ended at 22:00 Jan 3: one snapshot on Jan 3 with no run time carrying the whole 5.000000 USD.
    costing = cost_job(start_ms=JAN_3 + h(22), end_ms=JAN_3 + h(22), gpu_milli=8000, billed_micros=5_000_000,
                       prices=[])
    assert costing == JobCosting(5_000_000, CostSource.billed, 0, (DayShare(date(2026, 1, 3), 0, 0, 5_000_000),))


def test_billed_zero_cost() -> None:
    costing = cost_job(start_ms=JAN_3 + h(22), end_ms=JAN_4 + h(2), gpu_milli=1000, billed_micros=0, prices=[])
    assert (costing.cost_micros, costing.source) == (0, CostSource.billed)
    assert [d.cost_micros for d in costing.days] == [0, 0]


def test_billed_ignores_prices() -> None:
    # A billed cost is the cost, whatever the catalog says.
    costing = cost_job(start_ms=JAN_14 + h(8), end_ms=JAN_14 + h(12), gpu_milli=8000, billed_micros=64_000_000,
                       prices=[PricePoint(SINCE_2020, 2_500_000)])
    assert (costing.cost_micros, costing.source) == (64_000_000, CostSource.billed)


def test_estimated_eight_h100_four_hours() -> None:
    # 8 GPUs × 4 h = 32 GPU-h × 2.50 USD = 80.000000 USD; gpu_us = 8,000 × 14,400,000 = 115,200,000,000.
    costing = cost_job(start_ms=JAN_14 + h(8), end_ms=JAN_14 + h(12), gpu_milli=8000, billed_micros=None,
                       prices=[PricePoint(SINCE_2020, 2_500_000)])
    assert costing == JobCosting(80_000_000, CostSource.estimated, 115_200_000_000,
                                 (DayShare(date(2026, 1, 14), 14_400_000, 115_200_000_000, 80_000_000),))


def test_estimated_price_change_at_noon_inside_a_day() -> None:
    # 1 GPU, 10:00 → 14:00 Jan 14; 2.00 USD/GPU-h until 12:00, 3.00 from 12:00:
    # 2 h × 2.00 + 2 h × 3.00 = 10.000000 USD on the one day.
    prices = [PricePoint(SINCE_2020, 2_000_000), PricePoint(JAN_14 + h(12), 3_000_000)]
    costing = cost_job(start_ms=JAN_14 + h(10), end_ms=JAN_14 + h(14), gpu_milli=1000, billed_micros=None,
                       prices=prices)
    assert costing == JobCosting(10_000_000, CostSource.estimated, 14_400_000_000,
                                 (DayShare(date(2026, 1, 14), 14_400_000, 14_400_000_000, 10_000_000),))


def test_estimated_price_change_inside_the_second_day() -> None:
    # 2 GPUs, 20:00 Jan 14 → 04:00 Jan 15; 1.00 USD/GPU-h until 02:00 Jan 15, then 4.00:
    # Jan 14: 4 h × 2 GPUs × 1.00 = 8.000000; Jan 15: 2 h × 2 × 1.00 + 2 h × 2 × 4.00 = 4 + 16 = 20.000000.
    prices = [PricePoint(SINCE_2020, 1_000_000), PricePoint(JAN_15 + h(2), 4_000_000)]
    costing = cost_job(start_ms=JAN_14 + h(20), end_ms=JAN_15 + h(4), gpu_milli=2000, billed_micros=None,
                       prices=prices)
    assert costing.cost_micros == 28_000_000
    assert [(d.day, d.cost_micros) for d in costing.days] == [(date(2026, 1, 14), 8_000_000),
                                                             (date(2026, 1, 15), 20_000_000)]


def test_estimated_price_change_at_the_start_uses_the_new_price() -> None:
    # The new price is valid from its instant: a run starting exactly then pays it. 1 GPU × 1 h × 3.00.
    prices = [PricePoint(SINCE_2020, 2_000_000), PricePoint(JAN_14 + h(12), 3_000_000)]
    costing = cost_job(start_ms=JAN_14 + h(12), end_ms=JAN_14 + h(13), gpu_milli=1000, billed_micros=None,
                       prices=prices)
    assert costing.cost_micros == 3_000_000


def test_estimated_fractional_gpu() -> None:
    # 0.5 GPU × 3 h = 1.5 GPU-h × 2.50 = 3.750000 USD; gpu_us = 500 × 10,800,000 = 5,400,000,000.
    costing = cost_job(start_ms=JAN_14, end_ms=JAN_14 + h(3), gpu_milli=500, billed_micros=None,
                       prices=[PricePoint(SINCE_2020, 2_500_000)])
    assert (costing.cost_micros, costing.gpu_us) == (3_750_000, 5_400_000_000)


def test_estimated_zero_length_run_costs_zero_on_its_day() -> None:
    costing = cost_job(start_ms=JAN_14 + h(8), end_ms=JAN_14 + h(8), gpu_milli=8000, billed_micros=None,
                       prices=[PricePoint(SINCE_2020, 2_500_000)])
    assert costing == JobCosting(0, CostSource.estimated, 0, (DayShare(date(2026, 1, 14), 0, 0, 0),))


def test_run_starting_before_the_first_price_is_unpriced() -> None:
    # The only price starts at 12:00; the run starts at 10:00: no price at the start, so nothing is invented
    # (not even for the priced part after 12:00). GPU time is still counted: 1,000 × 14,400,000.
    costing = cost_job(start_ms=JAN_14 + h(10), end_ms=JAN_14 + h(14), gpu_milli=1000, billed_micros=None,
                       prices=[PricePoint(JAN_14 + h(12), 3_000_000)])
    assert costing == JobCosting(None, CostSource.unpriced, 14_400_000_000,
                                 (DayShare(date(2026, 1, 14), 14_400_000, 14_400_000_000, None),))


def test_no_prices_is_unpriced_across_days() -> None:
    costing = cost_job(start_ms=JAN_3 + h(22), end_ms=JAN_4 + h(2), gpu_milli=8000, billed_micros=None, prices=[])
    assert costing == JobCosting(None, CostSource.unpriced, 115_200_000_000,
                                 (DayShare(date(2026, 1, 3), 7_200_000, 57_600_000_000, None),
                                  DayShare(date(2026, 1, 4), 7_200_000, 57_600_000_000, None)))


def test_never_started_with_a_priced_pair_costs_zero_estimated() -> None:
    assert cost_job(start_ms=None, end_ms=None, gpu_milli=8000, billed_micros=None,
                    prices=[PricePoint(SINCE_2020, 2_500_000)]) == JobCosting(0, CostSource.estimated, 0, ())


def test_never_started_without_a_price_is_unpriced() -> None:
    assert cost_job(start_ms=None, end_ms=None, gpu_milli=8000, billed_micros=None, prices=[]) == \
        JobCosting(None, CostSource.unpriced, 0, ())


def test_billed_without_a_start_is_refused() -> None:
    with pytest.raises(ValueError):
        cost_job(start_ms=None, end_ms=None, gpu_milli=0, billed_micros=1, prices=[])


def test_started_without_an_end_is_refused() -> None:
    with pytest.raises(ValueError):
        cost_job(start_ms=JAN_14, end_ms=None, gpu_milli=1000, billed_micros=None, prices=[])


@pytest.mark.parametrize(("price_micros", "total", "per_day"), [
    # 0.001 GPU (gpu_milli 1) for 1 h, 23:30 Jan 3 → 00:30 Jan 4. Exact µUSD = 1 × 3,600,000 ms × p / 3.6e9 = p/1000.
    # p = 2,500 (0.0025 USD/GPU-h): exact 2.5 µUSD (1.25 + 1.25) → half-even 2 (not 3); floors 1 + 1, none left.
    pytest.param(2_500, 2, [1, 1], id="2.5-rounds-down-to-even"),
    # p = 3,500: exact 3.5 (1.75 + 1.75) → half-even 4; floors 1 + 1, two left → 2 / 2.
    pytest.param(3_500, 4, [2, 2], id="3.5-rounds-up-to-even"),
    # p = 2,600: exact 2.6 (1.3 + 1.3) → 3; floors 1 + 1, one left, remainders tie → the earlier day.
    pytest.param(2_600, 3, [2, 1], id="2.6-rounds-up"),
    # p = 2,400: exact 2.4 (1.2 + 1.2) → 2; 1 / 1.
    pytest.param(2_400, 2, [1, 1], id="2.4-rounds-down"),
])
def test_estimated_total_rounded_half_even(price_micros: int, total: int, per_day: list[int]) -> None:
    costing = cost_job(start_ms=JAN_3 + h(23, 30), end_ms=JAN_4 + h(0, 30), gpu_milli=1, billed_micros=None,
                       prices=[PricePoint(SINCE_2020, price_micros)])
    assert costing.cost_micros == total
    assert [d.cost_micros for d in costing.days] == per_day


# --- cost_job against a reference implementation -----------------------------------------------------------------


@dataclass(frozen=True)
class RandomJob:
    start_ms: int | None
    end_ms: int | None
    gpu_milli: int
    billed_micros: int | None
    prices: list[tuple[int, int]]  # (valid_from_ms, micros per GPU-hour), sorted, distinct


def random_job(rng: random.Random) -> RandomJob:
    window_start = JAN_1 - 60 * DAY_MS
    start = window_start + rng.randrange(120 * DAY_MS)
    if rng.random() < 0.15:
        start = start // DAY_MS * DAY_MS  # on a midnight
    length = rng.choice([
        0,
        rng.randrange(1, 1000),                 # under a second
        rng.randrange(DAY_MS),                  # under a day
        rng.randrange(5 * DAY_MS + 1),          # up to ~5 days
        rng.randrange(1, 6) * DAY_MS,           # whole days
    ])
    end = start + length
    gpu_milli = rng.choice([0, 1, 125, 500, 1000, 2500, 8000, rng.randrange(1, 100_000_001)])
    billed = rng.choice([None, None, 0, rng.randrange(1, 1_000), rng.randrange(1, 10**12)])

    points: set[int] = set()
    if rng.random() < 0.1:
        points.add(start + rng.randrange(1, max(2, length + 1)))  # first price after the start: unpriced
    else:
        points.add(start - rng.randrange(0, 30 * DAY_MS))
    for _ in range(rng.randrange(0, 3)):
        if length and rng.random() < 0.7:
            points.add(start + rng.randrange(1, length + 1))  # a change inside the run
        else:
            day = (start + rng.randrange(max(1, length))) // DAY_MS * DAY_MS
            points.add(day + rng.choice([h(12), h(0, 1), DAY_MS - 1]))  # inside one of its days
    prices = sorted((ms, rng.choice([1, 999, 2_500_000, rng.randrange(1, 50_000_000)])) for ms in points)

    if rng.random() < 0.05:
        return RandomJob(None, None, gpu_milli, None, prices)
    return RandomJob(start, end, gpu_milli, billed, prices)


def as_instant(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


def check_against_reference(job: RandomJob) -> None:
    costing = cost_job(start_ms=job.start_ms, end_ms=job.end_ms, gpu_milli=job.gpu_milli,
                       billed_micros=job.billed_micros,
                       prices=[PricePoint(ms, micros) for ms, micros in job.prices])
    expected = reference_cost(
        start=None if job.start_ms is None else as_instant(job.start_ms),
        end=None if job.end_ms is None else as_instant(job.end_ms),
        gpu_count=Decimal(job.gpu_milli).scaleb(-3),
        billed_usd=None if job.billed_micros is None else Decimal(job.billed_micros).scaleb(-6),
        prices=[(as_instant(ms), Decimal(micros).scaleb(-6)) for ms, micros in job.prices])

    got_days = [RefDay(d.day, d.run_ms, d.gpu_us, d.cost_micros) for d in costing.days]
    assert got_days == expected.days, job
    assert (costing.cost_micros, costing.source.value, costing.gpu_us) == \
        (expected.cost_micros, expected.source, expected.gpu_us), job
    # The invariants DESIGN.md promises, checked on their own as well.
    assert costing.gpu_us == sum(d.gpu_us for d in costing.days), job
    if costing.cost_micros is None:
        assert all(d.cost_micros is None for d in costing.days), job
    else:
        assert sum(d.cost_micros or 0 for d in costing.days) == costing.cost_micros, job
        assert all(d.cost_micros is not None and d.cost_micros >= 0 for d in costing.days), job
    assert all(d.run_ms >= 0 and d.gpu_us >= 0 for d in costing.days), job
    assert [d.day for d in costing.days] == sorted({d.day for d in costing.days}), job


@pytest.mark.parametrize("seed", range(8), ids=lambda s: f"seed-{s}")
def test_cost_job_matches_reference_on_random_jobs(seed: int) -> None:
    rng = random.Random(20260114 + seed)
    for _ in range(40):
        check_against_reference(random_job(rng))


HAND_PICKED = [
    pytest.param(RandomJob(JAN_3 + h(22), JAN_4 + h(2), 8000, 10_000_000, []), id="billed-across-midnight"),
    pytest.param(RandomJob(JAN_3, JAN_3 + 3 * DAY_MS, 1000, 1_000_000, []), id="billed-three-days"),
    pytest.param(RandomJob(JAN_3 + h(22), JAN_3 + h(22), 8000, 5_000_000, []), id="billed-zero-length"),
    pytest.param(RandomJob(JAN_14 + h(8), JAN_14 + h(12), 8000, None, [(SINCE_2020, 2_500_000)]),
                 id="estimated-8xh100-4h"),
    pytest.param(RandomJob(JAN_14 + h(10), JAN_14 + h(14), 1000, None,
                           [(SINCE_2020, 2_000_000), (JAN_14 + h(12), 3_000_000)]), id="price-change-at-noon"),
    pytest.param(RandomJob(JAN_14 + h(20), JAN_15 + h(4), 2000, None,
                           [(SINCE_2020, 1_000_000), (JAN_15 + h(2), 4_000_000)]), id="price-change-next-day"),
    pytest.param(RandomJob(JAN_14 + h(10), JAN_14 + h(14), 1000, None, [(JAN_14 + h(12), 3_000_000)]),
                 id="unpriced-before-first-price"),
    pytest.param(RandomJob(None, None, 8000, None, [(SINCE_2020, 2_500_000)]), id="never-started-priced"),
    pytest.param(RandomJob(None, None, 8000, None, []), id="never-started-unpriced"),
    pytest.param(RandomJob(JAN_3 + h(23, 30), JAN_4 + h(0, 30), 1, None, [(SINCE_2020, 2_500)]), id="half-even"),
    pytest.param(RandomJob(JAN_3 + 1, JAN_3 + 5 * DAY_MS - 1, 333, None,
                           [(SINCE_2020, 7), (JAN_4 + 1, 11), (JAN_4 + 2 * DAY_MS + h(12), 13)]),
                 id="tiny-prices-many-days"),
    pytest.param(RandomJob(JAN_3 + h(23, 59), JAN_4 + h(0, 1), 100_000_000, 999_999_999_999_999_999, []),
                 id="huge-billed-two-minutes"),
]


@pytest.mark.parametrize("job", HAND_PICKED)
def test_cost_job_matches_reference_on_hand_picked_jobs(job: RandomJob) -> None:
    check_against_reference(job)


def test_reference_agrees_with_the_hand_computed_figures() -> None:
    # The reference itself, checked against two of the worked examples above.
    assert [d.cost_micros for d in reference_cost(
        as_instant(JAN_3), as_instant(JAN_3 + 3 * DAY_MS), Decimal(1), Decimal("1.000000"), []).days] == \
        [333_334, 333_333, 333_333]
    assert reference_cost(as_instant(JAN_14 + h(8)), as_instant(JAN_14 + h(12)), Decimal(8), None,
                          [(as_instant(SINCE_2020), Decimal("2.50"))]).cost_micros == 80_000_000
