"""Rate resolution (`app.pricing.resolution`): precedence, `valid_to`, MIG shares, checked through `cost_job`
against costs computed by hand in each test."""

from __future__ import annotations

from datetime import UTC, datetime

from app.db.models import CostSource
from app.ingestion.costing import PricePoint, cost_job, to_epoch_ms
from app.pricing.resolution import RateSpan, Resolution, layer_points

HOUR = 3_600_000
T2024 = to_epoch_ms(datetime(2024, 1, 1, tzinfo=UTC))
T2025 = to_epoch_ms(datetime(2025, 1, 1, tzinfo=UTC))
T2026 = to_epoch_ms(datetime(2026, 1, 1, tzinfo=UTC))


def span(provider: str, gpu_type: str, micros: int, start: int, end: int | None = None, *,
         custom: bool = True) -> RateSpan:
    return RateSpan(provider, gpu_type, micros, start, end, custom)


def cost(resolution: Resolution, provider: str, gpu_type: str, start: int, hours: int, gpus: int = 1
         ) -> int | None:
    """Cost (micro-USD) of `gpus` GPUs of `gpu_type` for `hours` from `start`; None when unpriced."""
    costing = cost_job(start_ms=start, end_ms=start + hours * HOUR, gpu_milli=gpus * 1000, billed_micros=None,
                       prices=resolution.points_for(provider, gpu_type))
    assert (costing.source is CostSource.unpriced) == (costing.cost_micros is None)
    return costing.cost_micros


def test_precedence_most_specific_first() -> None:
    # catalog (*, V100) from 2024; custom (*, V100) from 2025; catalog (onprem, V100) from 2025 06:00 on the first
    # day; custom (onprem, V100) only during 2025's first day 12:00–18:00.
    resolution = Resolution([
        span("*", "V100", 1_000_000, T2024, custom=False),
        span("*", "V100", 2_000_000, T2025),
        span("onprem", "V100", 3_000_000, T2025 + 6 * HOUR, custom=False),
        span("onprem", "V100", 4_000_000, T2025 + 12 * HOUR, T2025 + 18 * HOUR),
    ])
    assert cost(resolution, "onprem", "V100", T2024, 1) == 1_000_000         # catalog *
    assert cost(resolution, "onprem", "V100", T2025, 1) == 2_000_000         # custom * beats catalog *
    assert cost(resolution, "onprem", "V100", T2025 + 6 * HOUR, 1) == 3_000_000   # catalog pair beats custom *
    assert cost(resolution, "onprem", "V100", T2025 + 12 * HOUR, 1) == 4_000_000  # custom pair beats all
    assert cost(resolution, "onprem", "V100", T2025 + 18 * HOUR, 1) == 3_000_000  # custom ended: catalog pair
    # Another provider has no rate of its own: the `*` rates, custom over catalog.
    assert cost(resolution, "aws", "V100", T2025 + 12 * HOUR, 1) == 2_000_000
    # A run across the changes: 06:00–18:00 on the first day = 6 h at 3 + 6 h at 4.
    assert cost(resolution, "onprem", "V100", T2025 + 6 * HOUR, 12) == 6 * 3_000_000 + 6 * 4_000_000


def test_valid_to_ends_a_rate_and_a_partly_covered_run_is_unpriced() -> None:
    resolution = Resolution([span("onprem", "T4", 500_000, T2025, T2025 + 10 * HOUR)])
    assert cost(resolution, "onprem", "T4", T2025, 10) == 5_000_000
    assert cost(resolution, "onprem", "T4", T2025 + 10 * HOUR, 1) is None     # after valid_to
    assert cost(resolution, "onprem", "T4", T2025 + 9 * HOUR, 2) is None      # half in, half out
    assert cost(resolution, "onprem", "T4", T2025 - HOUR, 2) is None          # starts before the rate
    assert cost(resolution, "aws", "T4", T2025, 1) is None                    # no rate for that provider


def test_an_open_rate_ends_where_the_next_of_its_layer_starts() -> None:
    points = layer_points([span("x", "T4", 2, T2025), span("x", "T4", 1, T2024)])
    assert points == (PricePoint(T2024, 1), PricePoint(T2025, 2))
    # A closed rate followed by a gap, then another rate.
    points = layer_points([span("x", "T4", 1, T2024, T2025), span("x", "T4", 2, T2026)])
    assert points == (PricePoint(T2024, 1), PricePoint(T2025, None), PricePoint(T2026, 2))


def test_a_gap_in_a_custom_rate_falls_back_to_the_catalog() -> None:
    resolution = Resolution([span("aws", "H100", 6_000_000, T2024, custom=False),
                             span("aws", "H100", 1_000_000, T2025, T2025 + 2 * HOUR)])
    assert cost(resolution, "aws", "H100", T2025, 4) == 2 * 1_000_000 + 2 * 6_000_000


def test_mig_slice_is_g_sevenths_of_its_parent_exactly() -> None:
    # r = 1,000,001 micro-USD: r × 3 / 7 per slice-hour is not a whole micro-USD, 7 h of it is exactly 3r.
    r = 1_000_001
    resolution = Resolution([span("aws", "A100-80GB", r, T2024, custom=False)])
    assert cost(resolution, "aws", "A100-80GB-MIG-3G.40GB", T2025, 7) == 3 * r
    # One hour: 3r/7 = 428,571.857… → 428,572 (rounded once, for the job).
    assert cost(resolution, "aws", "A100-80GB-MIG-3G.40GB", T2025, 1) == 428_572
    # Two slices for 7 h: 6r. A 7g slice is the whole GPU.
    assert cost(resolution, "aws", "A100-80GB-MIG-3G.40GB", T2025, 7, gpus=2) == 6 * r
    assert cost(resolution, "aws", "A100-80GB-MIG-7G.80GB", T2025, 1) == r
    assert cost(resolution, "gcp", "A100-80GB-MIG-3G.40GB", T2025, 7) is None  # no parent rate for gcp


def test_mig_slice_own_rate_wins_and_the_parent_fills_its_gaps() -> None:
    r = 7_000_000
    resolution = Resolution([span("*", "A100-80GB", r, T2024, custom=False),
                             span("*", "A100-80GB-MIG-1G.10GB", 500_000, T2025, T2025 + HOUR)])
    # First hour at the slice's own rate, the next at 1/7 of the parent's (1,000,000).
    assert cost(resolution, "onprem", "A100-80GB-MIG-1G.10GB", T2025, 2) == 500_000 + 1_000_000


def test_four_slice_families_are_priced_in_quarters() -> None:
    r = 1_000_003
    resolution = Resolution([span("onprem", "A30", r, T2024)])
    # A30 has 4 compute slices: a 2g slice for 4 h is 2r, not 8r/7.
    assert cost(resolution, "onprem", "A30-MIG-2G.12GB", T2025, 4) == 2 * r
    assert cost(resolution, "onprem", "A30-MIG-1G.6GB", T2025, 1) == 250_001  # r/4 = 250,000.75 → 250,001
    # No A30 profile has more than 4 slices: such a name is left unpriced rather than guessed.
    assert cost(resolution, "onprem", "A30-MIG-7G.24GB", T2025, 1) is None


def test_a_job_that_never_ran_is_priced_when_a_rate_exists_at_any_time() -> None:
    resolution = Resolution([span("onprem", "T4", 1, T2024, T2025)])
    never = cost_job(start_ms=None, end_ms=None, gpu_milli=1000, billed_micros=None,
                     prices=resolution.points_for("onprem", "T4"))
    assert (never.cost_micros, never.source) == (0, CostSource.estimated)
    assert cost_job(start_ms=None, end_ms=None, gpu_milli=1000, billed_micros=None,
                    prices=resolution.points_for("aws", "T4")).source is CostSource.unpriced
