from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import BigInteger, Date, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base
from app.db.types import Micros


class CostSnapshot(Base):
    """A job's share of run time, GPU time and cost on one UTC day. A job's snapshots sum to its cost exactly.

    `job_pk` references `jobs.id` (the internal UUID), not the external `job_id` string.
    """

    __tablename__ = "cost_snapshots"

    job_pk: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True, index=True)
    run_ms: Mapped[int] = mapped_column(BigInteger, nullable=False)
    gpu_us: Mapped[int] = mapped_column(BigInteger, nullable=False)
    cost: Mapped[Decimal | None] = mapped_column("cost_micros", Micros)
