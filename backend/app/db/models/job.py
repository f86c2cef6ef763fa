from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Enum, ForeignKey, Index, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db.base import Base, Timestamps, UUIDPrimaryKey
from app.db.models.team import Team
from app.db.types import Micros, UTCDateTime


class JobStatus(StrEnum):
    """Where a job stands; ingestion maps schedulers' synonyms (COMPLETED, PENDING, …) onto these."""

    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"
    preempted = "preempted"


class CostSource(StrEnum):
    """Where a job's cost comes from: the record (`billed`), GPU-hours × catalog price (`estimated`), or nowhere
    (`unpriced`: GPU time is kept, no cost is invented)."""

    billed = "billed"
    estimated = "estimated"
    unpriced = "unpriced"


class EnergySource(StrEnum):
    """Where a job's energy figure comes from: the record's `energy_kwh` (`measured`) or the coefficients
    (`estimated`, `app/energy/`)."""

    measured = "measured"
    estimated = "estimated"


def _str_enum(enum: type[StrEnum], name: str) -> Enum:
    return Enum(enum, native_enum=False, create_constraint=True, length=16, name=name,
                values_callable=lambda e: [m.value for m in e])


MAX_ENERGY_MWH = 10_000_000 * 1_000_000  # 10,000,000 kWh in milliwatt-hours
MAX_GPU_UTIL_BP = 10_000  # a share of 1


class Job(UUIDPrimaryKey, Timestamps, Base):
    """One unit of compute work, keyed by its external `job_id`.

    Exact integer storage: `gpu_milli` is GPUs × 1000, `gpu_us` is GPU-microseconds (gpu_milli × run ms),
    money columns are micro-USD (`Micros`). `content_hash` is the hash of the normalised record, its costing and
    energy figures (`b2:` + 60 hex digits, or a legacy 64-hex SHA-256: `app/ingestion/content_hash.py`): equal
    hash means an ingest changes nothing. Energy and efficiency as the record carried them (null when it did not):
    `energy_mwh` is measured energy of the whole job in integer milliwatt-hours (1 kWh = 1,000,000 mWh, at most
    10,000,000 kWh), `gpu_util_bp` the mean GPU utilisation in ten-thousandths (0..10,000), `region` the
    case-folded region or data-centre name.
    """

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_started_at_job_id", "started_at", "job_id"),
        CheckConstraint(f"energy_mwh >= 0 AND energy_mwh <= {MAX_ENERGY_MWH}", name="energy_mwh_range"),
        CheckConstraint(f"gpu_util_bp >= 0 AND gpu_util_bp <= {MAX_GPU_UTIL_BP}", name="gpu_util_bp_range"),
    )

    job_id: Mapped[str] = mapped_column(String(255), nullable=False, unique=True)
    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("teams.id", ondelete="RESTRICT"), nullable=False, index=True)
    user_name: Mapped[str | None] = mapped_column(String(255))
    model_name: Mapped[str | None] = mapped_column(String(255), index=True)
    gpu_type: Mapped[str | None] = mapped_column(String(64))
    gpu_milli: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, server_default="0")
    provider: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[JobStatus] = mapped_column(_str_enum(JobStatus, "job_status"), nullable=False)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    observed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    billed_cost: Mapped[Decimal | None] = mapped_column("billed_cost_micros", Micros)
    cost: Mapped[Decimal | None] = mapped_column("cost_micros", Micros)
    gpu_us: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, server_default="0")
    cost_source: Mapped[CostSource] = mapped_column(_str_enum(CostSource, "cost_source"), nullable=False)
    labels: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict, server_default="{}")
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    energy_mwh: Mapped[int | None] = mapped_column(BigInteger)
    gpu_util_bp: Mapped[int | None] = mapped_column(SmallInteger)
    region: Mapped[str | None] = mapped_column(String(64))
    # The job's energy figures (`app/energy/figures.py`), the sums of its snapshots': energy in mWh, carbon in mg
    # CO2e, idle GPU-microseconds and idle micro-USD (null: utilisation or cost unknown), where the energy comes
    # from, and the defaults its estimate used (comma-separated, "" for none). `energy_source` null: not computed
    # yet (a job stored before migration 0013 until `jobcost energy recompute` reaches it).
    energy_used_mwh: Mapped[int | None] = mapped_column(BigInteger)
    co2e_mg: Mapped[int | None] = mapped_column(BigInteger)
    idle_gpu_us: Mapped[int | None] = mapped_column(BigInteger)
    idle_cost_micros: Mapped[int | None] = mapped_column(BigInteger)
    energy_source: Mapped[EnergySource | None] = mapped_column(_str_enum(EnergySource, "energy_source"))
    energy_defaults: Mapped[str | None] = mapped_column(String(64))

    team: Mapped[Team] = relationship(lazy="raise")


# The order of `GET /jobs` (started_at newest first, never-started last, then job_id by code point), as an index
# in exactly that order, so the first page, every keyset page and the CSV export read it in order with no sort.
# The migration (0006) builds it with `job_id COLLATE "C"`, the collation the listing sorts by whatever the
# database's locale; it is declared here without, because SQLAlchemy reflects an index column's collation as the
# bare column and Alembic would report a declared COLLATE as drift (tests/jobs/test_cursor.py checks the real
# index). PostgreSQL only: SQLite cannot declare NULLS LAST in an index, and serves this order from
# `ix_jobs_started_at_job_id`. Alembic's comparison skips the indexes named in POSTGRESQL_ONLY_INDEXES on other
# databases (see backend/alembic/env.py).
LIST_ORDER_INDEX = "ix_jobs_list_order"
Index(LIST_ORDER_INDEX, Job.started_at.desc().nulls_last(), Job.job_id).ddl_if(dialect="postgresql")
POSTGRESQL_ONLY_INDEXES = frozenset({LIST_ORDER_INDEX})
