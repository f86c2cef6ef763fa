from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Boolean, Column, Enum, ForeignKey, Integer, String, Table, Uuid, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db.base import Base, Timestamps, UUIDPrimaryKey
from app.db.models.team import Team


class Role(StrEnum):
    admin = "admin"
    member = "member"


team_members = Table(
    "team_members",
    Base.metadata,
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("team_id", Uuid, ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class User(UUIDPrimaryKey, Timestamps, Base):
    """A person or script that signs in. Admins ingest and manage; members read their teams' data."""

    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(320), nullable=False, unique=True)
    hashed_password: Mapped[str] = mapped_column(String(255), nullable=False)
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, create_constraint=True, length=16, name="role",
             values_callable=lambda e: [m.value for m in e]),
        nullable=False,
    )
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True, server_default=true())
    # Carried in every token as `gen`; bumped on deactivation, so tokens issued before it stay dead even if the
    # account is activated again.
    token_generation: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    # lazy="raise": loading teams must be explicit (selectinload), never implicit IO during serialisation.
    teams: Mapped[list[Team]] = relationship(secondary=team_members, lazy="raise", order_by=Team.name_key)
