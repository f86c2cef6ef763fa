from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, Column, Enum, ForeignKey, String, Table, Uuid, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db.base import Base, Timestamps, UUIDPrimaryKey
from app.db.models.team import Team
from app.db.types import UTCDateTime


class TokenScope(StrEnum):
    """What a long-lived API token may do. `ingest`: send jobs to the two ingest endpoints, and nothing else.
    `read`: call the read endpoints (jobs, analytics, prices), for every team or for its listed teams only."""

    ingest = "ingest"
    read = "read"


# The teams a read token is limited to (when its `limited_to_teams` is true).
api_token_teams = Table(
    "api_token_teams",
    Base.metadata,
    Column("token_id", Uuid, ForeignKey("api_tokens.id", ondelete="CASCADE"), primary_key=True),
    Column("team_id", Uuid, ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class ApiToken(UUIDPrimaryKey, Timestamps, Base):
    """A long-lived, narrowly scoped API token, for a script such as a cron job on a cluster's head node, or a
    BI tool reading costs.

    The token itself is a signed JWT whose `jti` is this row's `id`; no secret is stored here, only what the
    server needs to refuse the token before its `exp`: `revoked_at` and `expires_at` (checked on every request,
    so revoking works at once). `last_used_at` is when it last got a request accepted (for a read token written
    at most once a minute), or NULL if never.

    A read token with `limited_to_teams` reads exactly the teams of `teams` (as a member of those teams would),
    and nothing if they are all gone; without it, every team. The flag, not an empty list, says "every team", so
    a deleted team can never widen a token.
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
    limited_to_teams: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    # lazy="raise": loading teams must be explicit (selectinload), never implicit IO.
    teams: Mapped[list[Team]] = relationship(secondary=api_token_teams, lazy="raise", order_by=Team.name_key)
