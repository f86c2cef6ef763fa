"""Who may read which teams' jobs and costs: admins read every team, members only the teams they belong to.

Every read service narrows its queries through a `TeamScope`, so no endpoint can forget the rule: a member's
`team_id` or `team` filter naming a team outside its own is a 403 (whether or not that team exists, so a member
cannot probe for team names), and with no filter a member reads its own teams only.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import ForbiddenError
from app.db.models import Role, Team, User
from app.db.models.team import team_name_key


@dataclass(frozen=True, slots=True)
class TeamScope:
    """The teams a caller may read: all of them (`team_ids is None`), or exactly `team_ids` (possibly none)."""

    team_ids: frozenset[uuid.UUID] | None

    @classmethod
    def for_user(cls, user: User) -> TeamScope:
        """An admin's scope is every team; a member's is its teams (`user.teams` must be loaded)."""
        if user.role is Role.admin:
            return cls(None)
        return cls(frozenset(team.id for team in user.teams))

    @classmethod
    def everything(cls) -> TeamScope:
        return cls(None)

    async def narrow(self, session: AsyncSession, *, team_id: uuid.UUID | None = None,
                     team: str | None = None) -> frozenset[uuid.UUID] | None:
        """The team ids a query must keep to, given the caller's optional `team_id` and `team` (name) filters:
        None means no restriction (an admin without filters). An empty set means nothing matches (an unknown
        team, or two filters naming different teams).

        Raises ForbiddenError (403) when a member's filter names a team outside its teams.
        """
        return await self.narrow_many(session, team_ids=() if team_id is None else (team_id,),
                                      teams=() if team is None else (team,))

    async def narrow_many(self, session: AsyncSession, *, team_ids: Sequence[uuid.UUID] = (),
                          teams: Sequence[str] = ()) -> frozenset[uuid.UUID] | None:
        """As `narrow`, for filters that may each name several teams: the ids of `team_ids` are alternatives, so
        are the names of `teams`, and the two filters must both hold. Unknown names match nothing.

        Raises ForbiddenError (403) when a member names (by id or name) any team outside its teams.
        """
        allowed = self.team_ids
        if team_ids:
            if allowed is not None and not set(team_ids) <= allowed:
                raise ForbiddenError("You can read only your own teams' jobs and costs; team_id is not one of them")
            allowed = frozenset(team_ids) if allowed is None else allowed & set(team_ids)
        if teams:
            keys = sorted({team_name_key(name) for name in teams})
            found = {row.name_key: row.id for row in await session.execute(
                select(Team.id, Team.name_key).where(Team.name_key.in_(keys)))}
            if self.team_ids is not None and (len(found) < len(keys) or not set(found.values()) <= self.team_ids):
                raise ForbiddenError("You can read only your own teams' jobs and costs; team is not one of them")
            named = frozenset(found.values())
            allowed = named if allowed is None else allowed & named
        return allowed


def within_teams(column: ColumnElement[uuid.UUID], team_ids: frozenset[uuid.UUID] | None) -> ColumnElement[bool]:
    """The condition keeping `column` (a team id) to `team_ids`, as `TeamScope.team_ids` or `narrow` give them:
    true for None (no restriction), false for an empty set (nothing may be read)."""
    if team_ids is None:
        return true()
    return column.in_(sorted(team_ids)) if team_ids else false()

