from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Date, Enum, Index, String, Text, UniqueConstraint, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, Timestamps, UUIDPrimaryKey, utcnow
from app.db.types import Micros, UTCDateTime

# Longest actor (an admin's email, or `catalog`) a rate or a change records.
MAX_ACTOR_LENGTH = 320


class RateOrigin(StrEnum):
    """Who owns a rate or an alias: `catalog` (the file shipped in `app/data/gpu_prices.json`, re-seeded at every
    start) or `custom` (an admin's, through the API or the CLI)."""

    catalog = "catalog"
    custom = "custom"


class AliasKind(StrEnum):
    """What an alias renames: a GPU type or a provider."""

    gpu_type = "gpu_type"
    provider = "provider"


def _origin_enum() -> Enum:
    return Enum(RateOrigin, native_enum=False, create_constraint=True, length=16, name="rate_origin",
                values_callable=lambda e: [m.value for m in e])


class GpuPrice(UUIDPrimaryKey, Timestamps, Base):
    """A rate: USD per GPU-hour for a (provider, gpu_type) over `[valid_from, valid_to)`.

    `provider` `*` applies to any provider without a rate of its own for that GPU type at that instant.
    `valid_to` NULL means open: the rate then ends at the next rate of the same (provider, gpu_type, origin), if
    any (that is how the catalog's successive prices read). `origin` says whose it is (catalog or custom);
    `source`/`source_date` say where a catalog figure comes from (NULL for custom rates, which carry `note` and
    `created_by`). A retired rate (`retired_at` set) is kept for the history and ignored by costing.
    `closed_by_id` is the custom rate whose addition closed this open-ended one (cleared when that one is retired
    and this one reopens). Catalog rates are unique per (provider, gpu_type, valid_from)."""

    __tablename__ = "gpu_prices"
    __table_args__ = (
        Index("uq_gpu_prices_catalog_key", "provider", "gpu_type", "valid_from", unique=True,
              postgresql_where=text("origin = 'catalog'"), sqlite_where=text("origin = 'catalog'")),
        Index("ix_gpu_prices_gpu_type_provider", "gpu_type", "provider"),
    )

    provider: Mapped[str] = mapped_column(String(64), nullable=False)
    gpu_type: Mapped[str] = mapped_column(String(64), nullable=False)
    usd_per_gpu_hour: Mapped[Decimal] = mapped_column("usd_per_gpu_hour_micros", Micros, nullable=False)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    valid_to: Mapped[datetime | None] = mapped_column(UTCDateTime)
    origin: Mapped[RateOrigin] = mapped_column(_origin_enum(), nullable=False, default=RateOrigin.catalog,
                                               server_default=RateOrigin.catalog.value)
    source: Mapped[str | None] = mapped_column(Text)
    source_date: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(MAX_ACTOR_LENGTH))
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retired_by: Mapped[str | None] = mapped_column(String(MAX_ACTOR_LENGTH))
    closed_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)


class NameAlias(UUIDPrimaryKey, Timestamps, Base):
    """A spelling of a GPU type or provider (`spelling`: trimmed and case-folded) and the canonical name it stands
    for. `catalog` aliases are seeded from the shipped file at start; `custom` ones are an admin's, and a custom
    alias of a spelling the catalog also has wins (the start-up seeding leaves it alone)."""

    __tablename__ = "name_aliases"
    __table_args__ = (UniqueConstraint("kind", "spelling"),)

    kind: Mapped[AliasKind] = mapped_column(
        Enum(AliasKind, native_enum=False, create_constraint=True, length=16, name="alias_kind",
             values_callable=lambda e: [m.value for m in e]), nullable=False)
    spelling: Mapped[str] = mapped_column(String(255), nullable=False)
    canonical: Mapped[str] = mapped_column(String(64), nullable=False)
    origin: Mapped[RateOrigin] = mapped_column(_origin_enum(), nullable=False, default=RateOrigin.catalog,
                                               server_default=RateOrigin.catalog.value)
    created_by: Mapped[str | None] = mapped_column(String(MAX_ACTOR_LENGTH))


class PriceChange(UUIDPrimaryKey, Base):
    """One change of the rate card, for the log: who (`actor`: an admin's email, or `catalog` for the start-up
    seeding), when (`created_at`), what (`action`: `add`, `close`, `retire`, `reopen`, `alias`, `catalog`), the
    rate it is about (`rate_id`, NULL for aliases) and the row before and after (JSON objects; NULL when the row
    did not exist before / no longer exists)."""

    __tablename__ = "price_changes"
    __table_args__ = (Index("ix_price_changes_created_at_id", "created_at", "id"),)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow,
                                                 server_default=text("CURRENT_TIMESTAMP"))
    actor: Mapped[str] = mapped_column(String(MAX_ACTOR_LENGTH), nullable=False)
    action: Mapped[str] = mapped_column(String(16), nullable=False)
    rate_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
