"""Which stored jobs a rate card change names (`RecostScope.matches`), checked case by case."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.pricing.scopes import RecostScope, mig_compute_slices, mig_parent

JAN = datetime(2025, 1, 1, tzinfo=UTC)
FEB = datetime(2025, 2, 1, tzinfo=UTC)
MAR = datetime(2025, 3, 1, tzinfo=UTC)


def test_mig_parent() -> None:
    assert mig_parent("A100-80GB-MIG-3G.40GB") == "A100-80GB"
    assert mig_parent("A100-80GB") is None
    assert mig_parent("-MIG-3G.40GB") is None
    assert mig_parent("A100-80GB-MIG-") is None


@pytest.mark.parametrize(("provider", "gpu_type", "expected"), [
    ("onprem", "V100-16GB", True),
    ("aws", "V100-16GB", False),
    ("onprem", "A100-80GB", False),
    (None, "V100-16GB", False),
    ("onprem", None, False),
])
def test_names(provider: str | None, gpu_type: str | None, expected: bool) -> None:
    assert RecostScope("onprem", "V100-16GB").matches(provider, gpu_type, JAN, FEB) is expected


def test_any_provider_any_type_and_mig_slices() -> None:
    assert RecostScope(None, "A100-80GB").matches("aws", "A100-80GB-MIG-3G.40GB", JAN, FEB)
    assert not RecostScope(None, "A100-80GB-MIG-3G.40GB").matches("aws", "A100-80GB", JAN, FEB)
    assert RecostScope("onprem", None).matches("onprem", "T4", JAN, FEB)


@pytest.mark.parametrize(("run_start", "run_end", "expected"), [
    (JAN, FEB, False),   # ends where the validity starts: [Jan, Feb) does not overlap [Feb, Mar)
    (JAN, MAR, True),    # spans it
    (FEB, FEB, True),    # zero-length run at the validity's start
    (JAN, JAN, False),   # zero-length run before it
    (MAR, None, False),  # starts where the validity ends
    (None, None, True),  # never ran: its costing depends only on whether a rate exists
])
def test_run_overlaps_validity(run_start: datetime | None, run_end: datetime | None, expected: bool) -> None:
    assert RecostScope("onprem", "V100-16GB", FEB, MAR).matches("onprem", "V100-16GB", run_start, run_end) \
        is expected


@pytest.mark.parametrize(("gpu_type", "slices"), [
    ("A100-80GB-MIG-3G.40GB", 3), ("H100-MIG-1G.10GB", 1), ("H200-MIG-7G.141GB", 7),
    ("A100-40GB-MIG-1G.10GB+ME", 1), ("A100-80GB", None), ("A100-80GB-MIG-", None), ("A100-MIG-8G.80GB", None),
    ("-MIG-3G.40GB", None),
])
def test_mig_compute_slices(gpu_type: str, slices: int | None) -> None:
    assert mig_compute_slices(gpu_type) == slices
