from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, Timestamps, UUIDPrimaryKey
from app.db.types import Micros, UTCDateTime


class GpuPrice(UUIDPrimaryKey, Timestamps, Base):
    """A rate card entry: USD per GPU-hour for a (provider, gpu_type), valid from `valid_from` until the next
    entry of the same pair. `source` and `source_date` say where the figure comes from."""

    __tablename__ = "gpu_prices"
    __table_args__ = (UniqueConstraint("provider", "gpu_type", "valid_from"),)

    provider: Mapped[str] = mapped_column(String(64), nullable=False)
    gpu_type: Mapped[str] = mapped_column(String(64), nullable=False)
    usd_per_gpu_hour: Mapped[Decimal] = mapped_column("usd_per_gpu_hour_micros", Micros, nullable=False)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    source: Mapped[str] = mapped_column(Text, nullable=False)
    source_date: Mapped[date] = mapped_column(Date, nullable=False)
