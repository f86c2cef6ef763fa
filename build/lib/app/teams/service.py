"""Teams, found or created by name without a race."""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import UnprocessableError
from app.db.base import utcnow
from app.db.dialect import insert_for
from app.db.models import Team
from app.db.models.team import TEAM_NAME_MAX, team_name_key

# Rows per statement: 5 parameters a row keeps every INSERT and IN list far below 32,766 bound parameters.
_CHUNK = 1000


def _spellings(names: Iterable[str]) -> dict[str, str]:
    """`team_name_key` → the first spelling of `names` with that key (trimmed, NFC: "Cafe\u0301" and "Caf\u00e9"
    are one team, whichever path named it first), blank names left out, in the order given. Raises
    UnprocessableError (422) for a name over 255 characters, trimmed or case-folded."""
    spellings: dict[str, str] = {}
    for name in names:
        cleaned = unicodedata.normalize("NFC", name.strip())
        if cleaned:
            key = team_name_key(cleaned)
            if len(key) > TEAM_NAME_MAX or len(cleaned) > TEAM_NAME_MAX:
                raise UnprocessableError(f"Team names are at most {TEAM_NAME_MAX} characters, also once case-folded")
            spellings.setdefault(key, cleaned)
    return spellings


async def find_or_create_teams(session: AsyncSession, names: Iterable[str]) -> tuple[dict[str, Team], int]:
    """The teams for `names`, keyed by `team_name_key(name)`, and how many of them this call created.

    Uses `INSERT … ON CONFLICT (name_key) DO NOTHING RETURNING` (so only rows really inserted count as created)
    and then reads the rows back, in chunks and in key order: two requests creating the same teams at once both
    succeed, see one row each, and take their locks in the same order. The first spelling stored is kept.
    Raises UnprocessableError (422) for a name over 255 characters, trimmed or case-folded.
    """
    wanted = _spellings(names)
    if not wanted:
        return {}, 0
    now = utcnow()
    keys = sorted(wanted)
    created = 0
    found: dict[str, Team] = {}
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start:start + _CHUNK]
        rows = [{"id": uuid.uuid4(), "name": wanted[key], "name_key": key, "created_at": now, "updated_at": now}
                for key in chunk]
        inserted = await session.execute(
            insert_for(session, Team).values(rows).on_conflict_do_nothing(index_elements=["name_key"])
            .returning(Team.id))
        created += len(inserted.all())
        result = await session.execute(select(Team).where(Team.name_key.in_(chunk)))
        found.update({team.name_key: team for team in result.scalars()})
    return found, created


async def ensure_teams(session: AsyncSession, names: Iterable[str]) -> dict[str, Team]:
    """The teams for `names`, keyed by `team_name_key(name)`, creating the missing ones (see
    `find_or_create_teams`)."""
    teams, _ = await find_or_create_teams(session, names)
    return teams


async def missing_team_names(session: AsyncSession, names: Iterable[str]) -> list[str]:
    """The names among `names` (trimmed, NFC) that match no stored team once case-folded, in the order given,
    each once. For warning a person who may have misspelt a team before `ensure_teams` creates it. Raises
    UnprocessableError (422) for a name over 255 characters, as `ensure_teams` would."""
    wanted = _spellings(names)
    found: set[str] = set()
    keys = list(wanted)
    for start in range(0, len(keys), _CHUNK):
        result = await session.execute(select(Team.name_key).where(Team.name_key.in_(keys[start:start + _CHUNK])))
        found.update(result.scalars())
    return [name for key, name in wanted.items() if key not in found]

