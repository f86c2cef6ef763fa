"""Who may read which teams' jobs and costs: admins read every team, members only the teams they belong to.

Every read service narrows its queries through a `TeamScope`, so no endpoint can forget the rule: a member's
`team_id` or `team` filter naming a team outside its own is a 403 (whether or not that team exists, so a member
cannot probe for team names), and with no filter a member reads its own teams only.
"""

from __future__ import annotations

import uuid
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
        allowed = self.team_ids
        if team_id is not None:
            if allowed is not None and team_id not in allowed:
                raise ForbiddenError("You can read only your own teams' jobs and costs; team_id is not one of them")
            allowed = frozenset({team_id}) if allowed is None else allowed & {team_id}
        if team is not None:
            key = team_name_key(team)
            found = (await session.execute(select(Team.id).where(Team.name_key == key))).scalar_one_or_none()
            if self.team_ids is not None and found not in self.team_ids:
                raise ForbiddenError("You can read only your own teams' jobs and costs; team is not one of them")
            named = frozenset() if found is None else frozenset({found})
            allowed = named if allowed is None else allowed & named
        return allowed


def within_teams(column: ColumnElement[uuid.UUID], team_ids: frozenset[uuid.UUID] | None) -> ColumnElement[bool]:
    """The condition keeping `column` (a team id) to `team_ids`, as `TeamScope.team_ids` or `narrow` give them:
    true for None (no restriction), false for an empty set (nothing may be read)."""
    if team_ids is None:
        return true()
    return column.in_(sorted(team_ids)) if team_ids else false()

