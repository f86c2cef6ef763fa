from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Enum, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, Timestamps, UUIDPrimaryKey
from app.db.types import UTCDateTime


class TokenScope(StrEnum):
    """What a long-lived API token may do. `ingest`: send jobs to the two ingest endpoints, and nothing else."""

    ingest = "ingest"


class ApiToken(UUIDPrimaryKey, Timestamps, Base):
    """A long-lived, narrowly scoped API token, for a script such as a cron job on a cluster's head node.

    The token itself is a signed JWT whose `jti` is this row's `id`; no secret is stored here, only what the
    server needs to refuse the token before its `exp`: `revoked_at` and `expires_at` (checked on every request,
    so revoking works at once). `last_used_at` is when it last got an ingest request accepted (at most once a
    minute is written), or NULL if never.
    """

    __tablename__ = "api_tokens"

    name: Mapped[str | None] = mapped_column(String(255))
    scope: Mapped[TokenScope] = mapped_column(
        Enum(TokenScope, native_enum=False, create_constraint=True, length=16, name="token_scope",
             values_callable=lambda e: [m.value for m in e]),
        nullable=False,
    )
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
