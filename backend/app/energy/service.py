"""The coefficients in force (the shipped file with the admins' overrides laid over it, `app.energy.overrides`)
and which stored jobs a change of them touches."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, false, or_
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import CoefficientKind
from app.energy.figures import UNKNOWN_UTILIZATION_BP
from app.energy.overrides import Key, load_coefficients
from app.energy.schemas import CoefficientsRead, coefficients_read
from app.recost.selection import energy_condition


async def read_coefficients(session: AsyncSession) -> CoefficientsRead:
    """`GET /energy/coefficients`: every coefficient in force, with its source and origin, and the defaults."""
    return coefficients_read(await load_coefficients(session), UNKNOWN_UTILIZATION_BP)


def key_condition(key: Key) -> ColumnElement[bool]:
    """The jobs whose figures the coefficient of `key` enters: a GPU type's (and its MIG slices'), a provider's,
    or a (provider, region)'s."""
    kind, provider, gpu_type, region = key
    if kind == CoefficientKind.gpu:
        return energy_condition(gpu_type=gpu_type)
    if kind == CoefficientKind.pue:
        return energy_condition(provider=provider)
    return energy_condition(provider=provider, region=region)


def recompute_condition(keys: Sequence[Key]) -> ColumnElement[bool]:
    """The jobs any of `keys` touches (none for no key)."""
    return or_(false(), *(key_condition(key) for key in keys))
