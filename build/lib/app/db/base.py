"""Declarative base with a naming convention (so Alembic names constraints the same on both databases) and the
timestamp mixin shared by the tables."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import MetaData, Uuid, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.db.types import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# CURRENT_TIMESTAMP is UTC text on SQLite and transaction time on PostgreSQL: rows inserted outside the ORM
# (bulk Core statements, psql repairs) still get their timestamps.
NOW = text("CURRENT_TIMESTAMP")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UUIDPrimaryKey:
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)


class Timestamps:
    """`created_at` and `updated_at`: set in Python by the ORM, and by the database for rows inserted without
    them. Writers that update through Core statements
    (upserts) must set `updated_at` themselves: `onupdate` only applies to ORM-generated UPDATEs."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow, server_default=NOW)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, nullable=False, default=utcnow, server_default=NOW, onupdate=utcnow
    )
