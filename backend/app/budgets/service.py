"""Budgets: create, change, delete and list them (admins), and read them with their current period's figures
(members: their teams' budgets only). Services only flush; raises AppError subclasses."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.budgets import spend
from app.budgets.periods import period_bounds
from app.budgets.schemas import BudgetIn, BudgetPatch
from app.core.errors import NotFoundError, UnprocessableError
from app.db.base import utcnow
from app.db.models import AlertEvent, AlertKind, Budget, BudgetPeriod, BudgetScope, Team
from app.db.models.team import team_name_key
from app.db.types import usd_to_micros
from app.teams.scope import TeamScope

PERCENT_PLACES = Decimal("0.01")


def _field_error(field: str, message: str, kind: str) -> UnprocessableError:
    """A 422 naming `field` of the body, in the shape of FastAPI's own validation errors."""
    return UnprocessableError(f"Invalid request: body.{field}",
                              errors=[{"loc": ["body", field], "msg": message, "type": kind}])


@dataclass(frozen=True, slots=True)
class BudgetView:
    """A budget and its team's name (None for scope `all`)."""

    budget: Budget
    team_name: str | None


@dataclass(frozen=True, slots=True)
class ThresholdView:
    percent: int
    amount: Decimal
    state: str
    crossed_at: datetime | None


@dataclass(frozen=True, slots=True)
class BudgetFigures:
    """A budget in its current period: actual spend (USD), the forecast (None when unavailable), each
    threshold's state."""

    view: BudgetView
    period_start: date
    period_end: date
    as_of: date
    actual: Decimal
    actual_percent: Decimal
    forecast: spend.Forecast | None
    thresholds: list[ThresholdView]


def today() -> date:
    """Today's UTC date: the day whose period budgets are read and evaluated in (tests replace it)."""
    return utcnow().date()


def threshold_micros(amount_micros: int, percent: int) -> int:
    """`percent` % of `amount_micros`, rounded half-even to a micro-USD."""
    quotient, rest = divmod(amount_micros * percent, 100)
    if rest * 2 > 100 or (rest * 2 == 100 and quotient % 2):
        quotient += 1
    return quotient


def budget_team_ids(budget: Budget) -> frozenset[uuid.UUID] | None:
    """The teams whose spend a budget counts: its team, or None (every team) for scope `all`."""
    return None if budget.team_id is None else frozenset({budget.team_id})


class BudgetService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _team(self, name: str | None, team_id: uuid.UUID | None) -> Team:
        if team_id is not None:
            team = await self.session.get(Team, team_id)
            if team is None:
                raise _field_error("team_id", "no team has this id", "unknown_team")
            if name is not None and team_name_key(name) != team.name_key:
                raise _field_error("team", "names another team than team_id", "team_mismatch")
            return team
        if name is None:
            raise _field_error("team", "is required for scope team (or give team_id)", "missing")
        found = await self.session.execute(select(Team).where(Team.name_key == team_name_key(name)))
        team = found.scalar_one_or_none()
        if team is None:
            raise _field_error("team", "no team has this name (teams are created when their jobs are ingested)",
                               "unknown_team")
        return team

    async def create(self, body: BudgetIn, actor: str) -> BudgetView:
        """A new budget. 422 naming the field: an unknown team, a team given with scope `all`, none with `team`."""
        team: Team | None = None
        if body.scope == "team":
            team = await self._team(body.team, body.team_id)
        elif body.team is not None or body.team_id is not None:
            raise _field_error("team" if body.team is not None else "team_id",
                               "must be absent for scope all (a budget of every team)", "scope_all")
        budget = Budget(scope=BudgetScope(body.scope), team_id=team.id if team else None,
                        period=BudgetPeriod(body.period), amount_micros=usd_to_micros(body.amount),
                        thresholds=list(body.thresholds), name=body.name, created_by=actor)
        self.session.add(budget)
        await self.session.flush()
        return BudgetView(budget, team.name if team else None)

    async def get(self, budget_id: uuid.UUID) -> Budget:
        budget = await self.session.get(Budget, budget_id)
        if budget is None:
            raise NotFoundError(f"No budget with id {budget_id}")
        return budget

    async def update(self, budget_id: uuid.UUID, body: BudgetPatch) -> BudgetView:
        """Change the fields given. A threshold already alerted in this period is not alerted again."""
        budget = await self.get(budget_id)
        given = body.model_fields_set
        if "period" in given:
            if body.period is None:
                raise _field_error("period", "may not be null", "missing")
            budget.period = BudgetPeriod(body.period)
        if "amount" in given:
            if body.amount is None:
                raise _field_error("amount", "may not be null", "missing")
            budget.amount_micros = usd_to_micros(body.amount)
        if "thresholds" in given:
            if body.thresholds is None:
                raise _field_error("thresholds", "may not be null", "missing")
            budget.thresholds = list(body.thresholds)
        if "name" in given:
            budget.name = body.name
        budget.updated_at = utcnow()
        await self.session.flush()
        return (await self._views([budget]))[0]

    async def delete(self, budget_id: uuid.UUID) -> None:
        """Delete a budget: it stops alerting; its past alerts and their delivery log stay."""
        budget = await self.get(budget_id)
        await self.session.delete(budget)
        await self.session.flush()

    async def _views(self, budgets: list[Budget]) -> list[BudgetView]:
        ids = {b.team_id for b in budgets if b.team_id is not None}
        names: dict[Any, str] = {}
        if ids:
            rows = await self.session.execute(select(Team.id, Team.name).where(Team.id.in_(sorted(ids))))
            names = {team_id: name for team_id, name in rows.all()}
        return [BudgetView(b, names.get(b.team_id)) for b in budgets]

    async def list(self, scope: TeamScope) -> list[BudgetView]:
        """The budgets `scope` may read (an admin: all; a member: its teams' budgets, not scope `all` ones), by
        scope, team name, period and creation."""
        query = select(Budget)
        if scope.team_ids is not None:
            query = query.where(Budget.team_id.in_(sorted(scope.team_ids)) if scope.team_ids else Budget.id.is_(None))
        budgets = list((await self.session.execute(query)).scalars())
        views = await self._views(budgets)
        views.sort(key=lambda v: (v.budget.scope != BudgetScope.all, team_name_key(v.team_name or ""),
                                  v.budget.period, v.budget.created_at, str(v.budget.id)))
        return views

    async def figures(self, view: BudgetView, today: date) -> BudgetFigures:
        """`view`'s budget in the period holding `today` (UTC)."""
        budget = view.budget
        start, end = period_bounds(budget.period, today)
        teams = budget_team_ids(budget)
        actual = await spend.actual_micros(self.session, teams, start, end)
        forecast = await spend.forecast(self.session, budget.period.value, teams, today)
        recorded = await self.recorded(budget.id, start)
        forecast_micros = None if forecast is None else usd_to_micros(
            forecast.expected_total.quantize(Decimal("0.000001"), rounding=ROUND_HALF_EVEN))
        states = []
        for percent in budget.thresholds:
            limit = threshold_micros(budget.amount_micros, percent)
            if actual >= limit:
                state, kind = "crossed-actual", AlertKind.actual
            elif forecast_micros is not None and forecast_micros >= limit:
                state, kind = "crossed-forecast", AlertKind.forecast
            else:
                state, kind = "ok", None
            at = recorded.get((kind, percent)) if kind is not None else None
            states.append(ThresholdView(percent, spend.usd(limit), state, at))
        percent_spent = (Decimal(actual * 100) / Decimal(budget.amount_micros)).quantize(
            PERCENT_PLACES, rounding=ROUND_HALF_EVEN)
        return BudgetFigures(view, start, end, today, spend.usd(actual), percent_spent, forecast, states)

    async def recorded(self, budget_id: uuid.UUID, period_start: date) -> dict[tuple[AlertKind, int], datetime]:
        """When each (kind, threshold) of the budget was alerted in the period starting `period_start`."""
        rows = await self.session.execute(
            select(AlertEvent.kind, AlertEvent.threshold, func.min(AlertEvent.created_at))
            .where(AlertEvent.budget_id == budget_id, AlertEvent.period_start == period_start)
            .group_by(AlertEvent.kind, AlertEvent.threshold))
        return {(kind, threshold): at for kind, threshold, at in rows.all()}
