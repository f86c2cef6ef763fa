from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import BigInteger, Date, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base
from app.db.types import Micros


def _figure() -> Mapped[int]:
    return mapped_column(BigInteger, nullable=False, default=0, server_default="0")


class CostSnapshot(Base):
    """A job's share of run time, GPU time and cost on one UTC day. A job's snapshots sum to its cost exactly.

    `job_pk` references `jobs.id` (the internal UUID), not the external `job_id` string. The energy figures of the
    day (`app/energy/figures.py`), summing to the job's like the cost: `energy_mwh` (milliwatt-hours) of which
    `energy_measured_mwh` came from a measured `energy_kwh` (all of it or none), `co2e_mg` (milligrams CO2e) of
    which `co2e_measured_mg` from measured energy, `idle_gpu_us` (GPU-microseconds × (1 − utilisation)) and
    `idle_cost_micros` (the cost × (1 − utilisation)), both 0 when the utilisation is unknown, and `util_gpu_us`:
    the day's GPU time when the utilisation is known, else 0 (what the idle figures cover).
    """

    __tablename__ = "cost_snapshots"

    job_pk: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True, index=True)
    run_ms: Mapped[int] = mapped_column(BigInteger, nullable=False)
    gpu_us: Mapped[int] = mapped_column(BigInteger, nullable=False)
    cost: Mapped[Decimal | None] = mapped_column("cost_micros", Micros)
    energy_mwh: Mapped[int] = _figure()
    energy_measured_mwh: Mapped[int] = _figure()
    co2e_mg: Mapped[int] = _figure()
    co2e_measured_mg: Mapped[int] = _figure()
    idle_gpu_us: Mapped[int] = _figure()
    idle_cost_micros: Mapped[int] = _figure()
    util_gpu_us: Mapped[int] = _figure()
