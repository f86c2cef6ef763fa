"""The coefficients in force: the shipped file (`app.energy.coefficients`)."""

from __future__ import annotations

from app.energy.coefficients import Coefficients, default_coefficients
from app.energy.figures import UNKNOWN_UTILIZATION_BP
from app.energy.schemas import CoefficientsRead, coefficients_read


def coefficients_in_force() -> Coefficients:
    """The coefficients estimates are made from now."""
    return default_coefficients()


def read_coefficients() -> CoefficientsRead:
    """`GET /energy/coefficients`: every coefficient in force, with its source, and the defaults."""
    return coefficients_read(coefficients_in_force(), UNKNOWN_UTILIZATION_BP)
