"""Teams, found or created by name without a race."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.db.dialect import insert_for
from app.db.models import Team
from app.db.models.team import team_name_key


async def ensure_teams(session: AsyncSession, names: Iterable[str]) -> dict[str, Team]:
    """The teams for `names`, keyed by `team_name_key(name)`, creating the missing ones.

    Uses `INSERT … ON CONFLICT (name_key) DO NOTHING` and then reads the rows back, so two requests creating the
    same team at once both succeed and see one row. The first spelling stored is kept for display.
    """
    wanted: dict[str, str] = {}
    for name in names:
        cleaned = name.strip()
        if cleaned:
            wanted.setdefault(team_name_key(cleaned), cleaned)
    if not wanted:
        return {}
    now = utcnow()
    rows = [{"id": uuid.uuid4(), "name": name, "name_key": key, "created_at": now, "updated_at": now}
            for key, name in sorted(wanted.items())]
    await session.execute(insert_for(session, Team).values(rows).on_conflict_do_nothing(index_elements=["name_key"]))
    found = await session.execute(select(Team).where(Team.name_key.in_(list(wanted))))
    return {team.name_key: team for team in found.scalars()}
