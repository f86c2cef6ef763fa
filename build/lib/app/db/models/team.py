from __future__ import annotations

import unicodedata

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, Timestamps, UUIDPrimaryKey

TEAM_NAME_MAX = 255  # characters of `name` and of `name_key`


def team_name_key(name: str) -> str:
    """The comparison key of a team name: trimmed, NFC-normalised and case-folded (`" NLP "` and `"nlp"` are one
    team, and so are a composed and a decomposed "é")."""
    return unicodedata.normalize("NFC", name.strip()).casefold()


class Team(UUIDPrimaryKey, Timestamps, Base):
    """Who pays. `name` keeps the first spelling seen; `name_key` is unique."""

    __tablename__ = "teams"

    name: Mapped[str] = mapped_column(String(TEAM_NAME_MAX), nullable=False)
    name_key: Mapped[str] = mapped_column(String(TEAM_NAME_MAX), nullable=False, unique=True)
