from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Enum, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, Timestamps, UUIDPrimaryKey, utcnow
from app.db.models.gpu_price import MAX_ACTOR_LENGTH
from app.db.types import UTCDateTime


class CoefficientKind(StrEnum):
    """What an energy coefficient override replaces: a GPU type's watts, a provider's PUE, or a (provider,
    region)'s grid intensity."""

    gpu = "gpu"
    pue = "pue"
    grid = "grid"


def _kind_enum() -> Enum:
    return Enum(CoefficientKind, native_enum=False, create_constraint=True, length=8, name="coefficient_kind",
                values_callable=lambda e: [m.value for m in e])


class EnergyOverride(UUIDPrimaryKey, Timestamps, Base):
    """An admin's figure laid over the shipped coefficients file (`app/data/energy_coefficients.json`), one per
    key: `gpu` keyed by `gpu_type` (`idle_mw`, `full_mw`: milliwatts per GPU), `pue` by `provider` (`pue_milli`:
    PUE in thousandths), `grid` by (`provider`, `region` case-folded) (`mg_per_kwh`: mg CO2e per kWh). Key parts
    a kind does not use are `""` (not NULL, so the unique key holds on both databases); the figures it does not
    use are NULL. Deleting the row puts the file's figure back in force."""

    __tablename__ = "energy_coefficient_overrides"
    __table_args__ = (
        UniqueConstraint("kind", "provider", "gpu_type", "region"),
        CheckConstraint("(kind = 'gpu' AND idle_mw IS NOT NULL AND full_mw IS NOT NULL AND idle_mw <= full_mw) "
                        "OR (kind = 'pue' AND pue_milli IS NOT NULL) "
                        "OR (kind = 'grid' AND mg_per_kwh IS NOT NULL)", name="figures"),
    )

    kind: Mapped[CoefficientKind] = mapped_column(_kind_enum(), nullable=False)
    provider: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    gpu_type: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    region: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    idle_mw: Mapped[int | None] = mapped_column(BigInteger)
    full_mw: Mapped[int | None] = mapped_column(BigInteger)
    pue_milli: Mapped[int | None] = mapped_column(BigInteger)
    mg_per_kwh: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(MAX_ACTOR_LENGTH), nullable=False)


class EnergyChange(UUIDPrimaryKey, Base):
    """One change of the coefficient overrides, for the log: who (`actor`), when, `action` (`set` or `unset`),
    the key (`kind`, `provider`, `gpu_type`, `region`, `""` where unused) and the figures in force for that key
    before and after (JSON: the override, or the file's figure with `origin` `file`; NULL when neither)."""

    __tablename__ = "energy_coefficient_changes"
    __table_args__ = (Index("ix_energy_coefficient_changes_created_at_id", "created_at", "id"),)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow,
                                                 server_default=text("CURRENT_TIMESTAMP"))
    actor: Mapped[str] = mapped_column(String(MAX_ACTOR_LENGTH), nullable=False)
    action: Mapped[str] = mapped_column(String(16), nullable=False)
    kind: Mapped[CoefficientKind] = mapped_column(_kind_enum(), nullable=False)
    provider: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    gpu_type: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    region: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
