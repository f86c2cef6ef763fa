"""The pure figures (`app.energy.figures`) against numbers worked out by hand in the comments."""

from __future__ import annotations

from datetime import date

import pytest

from app.energy.coefficients import JobCoefficients, default_coefficients
from app.energy.figures import job_energy
from app.ingestion.costing import DayShare

HOUR_MS = 3_600_000
A100 = JobCoefficients(idle_mw=46_000, full_mw=407_000, pue_milli=1_135, mg_per_kwh=379_069)


def day(d: int, hours: float, gpus: int, cost: int | None) -> DayShare:
    run_ms = int(hours * HOUR_MS)
    return DayShare(date(2026, 1, d), run_ms, gpus * 1_000 * run_ms, cost)


def test_an_estimate_at_known_utilisation_matches_the_hand_computation() -> None:
    # 2 A100s for 10 h (20 GPU-hours) at u = 0.75 on AWS us-east-1:
    # watts = 46 + 0.75 × (407 − 46) = 316.75; 20 h × 316.75 W = 6335 Wh; × 1.135 = 7190.225 Wh = 7,190,225 mWh.
    # carbon = 7.190225 kWh × 379.069 g = 2653.483 + 72.10841... = 2725.59141... g → 2,725,591 mg.
    # idle GPU-hours = 20 × 0.25 = 5 h; idle cost = $80 × 0.25 = $20.
    days = [day(1, 4, 2, 32_000_000), day(2, 6, 2, 48_000_000)]
    figures = job_energy(days, cost_micros=80_000_000, measured_mwh=None, util_bp=7_500, coefficients=A100)
    assert figures.source == "estimated"
    assert figures.energy_mwh == 7_190_225
    assert figures.co2e_mg == 2_725_591
    assert figures.idle_gpu_us == 5 * 3_600_000_000
    assert figures.idle_cost_micros == 20_000_000
    assert figures.defaults == ()
    # Days: 4 h and 6 h of the same power: 2,876,090 and 4,314,135 mWh; 2 h and 3 h idle, $8 and $12 idle.
    assert [d.energy_mwh for d in figures.days] == [2_876_090, 4_314_135]
    assert [d.energy_measured_mwh for d in figures.days] == [0, 0]
    assert sum(d.co2e_mg for d in figures.days) == figures.co2e_mg
    assert [d.idle_gpu_us for d in figures.days] == [2 * 3_600_000_000, 3 * 3_600_000_000]
    assert [d.idle_cost_micros for d in figures.days] == [8_000_000, 12_000_000]


def test_unknown_utilisation_assumes_half_and_says_so_and_leaves_idle_unknown() -> None:
    # 1 A100 for 1 h at u = 0.5: 46 + 180.5 = 226.5 W × 1.135 = 257.0775 Wh = 257,077.5 mWh → 257,078 (half-even:
    # 257,077.5 → 257,078, the even neighbour).
    figures = job_energy([day(1, 1, 1, 4_000_000)], cost_micros=4_000_000, measured_mwh=None, util_bp=None,
                         coefficients=A100)
    assert figures.energy_mwh == 257_078
    assert figures.defaults == ("gpu_utilization",)
    assert (figures.idle_gpu_us, figures.idle_cost_micros) == (None, None)
    assert [(d.idle_gpu_us, d.idle_cost_micros) for d in figures.days] == [(0, 0)]


def test_measured_energy_beats_the_estimate_and_is_spread_like_a_billed_cost() -> None:
    # 10 kWh measured over 1 h + 2 h: 3,333,333.3 and 6,666,666.6 mWh → largest remainder gives the 1 to day 2.
    # carbon 10 kWh × 379.069 g = 3790.69 g = 3,790,690 mg, spread 1,263,563.3 / 2,527,126.6 → 1,263,563 / 2,527,127.
    days = [day(1, 1, 8, None), day(2, 2, 8, None)]
    figures = job_energy(days, cost_micros=None, measured_mwh=10_000_000, util_bp=None, coefficients=A100)
    assert figures.source == "measured"
    assert figures.energy_mwh == 10_000_000
    assert [d.energy_mwh for d in figures.days] == [3_333_333, 6_666_667]
    assert [d.energy_measured_mwh for d in figures.days] == [3_333_333, 6_666_667]
    assert figures.co2e_mg == 3_790_690
    assert [d.co2e_mg for d in figures.days] == [1_263_563, 2_527_127]
    assert [d.co2e_measured_mg for d in figures.days] == [1_263_563, 2_527_127]
    assert figures.defaults == ()  # no estimate, no assumption (the region is known)


def test_a_zero_length_measured_run_puts_everything_on_its_day() -> None:
    figures = job_energy([day(1, 0, 1, 0)], cost_micros=0, measured_mwh=1_500, util_bp=2_500, coefficients=A100)
    assert [d.energy_mwh for d in figures.days] == [1_500]
    assert figures.idle_gpu_us == 0 and figures.idle_cost_micros == 0


def test_defaults_are_named_when_the_gpu_provider_and_region_are_unknown() -> None:
    coefficients = default_coefficients().for_job("coreweave", "MI300X", "ord1")
    # Default GPU (A100, 46/407 W), default PUE 1.58, world intensity 480 g/kWh.
    assert (coefficients.idle_mw, coefficients.full_mw, coefficients.pue_milli, coefficients.mg_per_kwh) == (
        46_000, 407_000, 1_580, 480_000)
    figures = job_energy([day(1, 1, 1, None)], cost_micros=None, measured_mwh=None, util_bp=10_000,
                         coefficients=coefficients)
    # 407 W × 1 h × 1.58 = 643.06 Wh; × 0.480 kg/kWh = 308.6688 g.
    assert figures.energy_mwh == 643_060
    assert figures.co2e_mg == 308_669
    assert figures.defaults == ("gpu_type", "pue", "region")
    assert figures.idle_gpu_us == 0


def test_a_mig_slice_draws_its_share_of_the_parent() -> None:
    coefficients = default_coefficients().for_job("aws", "A100-80GB-MIG-3G.40GB", "us-east-1")
    # 3/7 of an A100 at full load for 7 h: 407 × 3/7 × 7 = 1221 Wh × 1.135 = 1385.835 Wh.
    figures = job_energy([day(1, 7, 1, None)], cost_micros=None, measured_mwh=None, util_bp=10_000,
                         coefficients=coefficients)
    assert figures.energy_mwh == 1_385_835
    assert figures.defaults == ()


def test_a_job_that_never_ran_has_no_days_and_no_estimate() -> None:
    figures = job_energy([], cost_micros=0, measured_mwh=None, util_bp=None, coefficients=A100)
    assert (figures.energy_mwh, figures.co2e_mg, figures.days, figures.defaults) == (0, 0, (), ())


@pytest.mark.parametrize("util_bp", [0, 1, 3_333, 9_999, 10_000])
def test_days_always_sum_to_the_job(util_bp: int) -> None:
    days = [day(1, 0.3337, 3, 1_000_001), day(2, 24, 3, 77_777_777), day(3, 5.123, 3, 3)]
    cost = sum(d.cost_micros or 0 for d in days)
    figures = job_energy(days, cost_micros=cost, measured_mwh=None, util_bp=util_bp, coefficients=A100)
    assert sum(d.energy_mwh for d in figures.days) == figures.energy_mwh
    assert sum(d.co2e_mg for d in figures.days) == figures.co2e_mg
    assert sum(d.idle_gpu_us for d in figures.days) == figures.idle_gpu_us
    assert sum(d.idle_cost_micros for d in figures.days) == figures.idle_cost_micros
