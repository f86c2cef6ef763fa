"""`/admin/budgets` (admins set budgets) and `/budgets` (anyone reads its teams' budgets with the period's figures)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from app.api.deps import (
    INGEST_TOKEN_REFUSED,
    QUERY_REFUSED,
    AdminUser,
    ScopeDep,
    SessionDep,
    single_valued_query,
    start_writing,
)
from app.api.errors import error_responses, problem_body
from app.budgets import service as budget_service
from app.budgets.alerts_router import router as alerts_router
from app.budgets.schemas import (
    BudgetIn,
    BudgetList,
    BudgetPatch,
    BudgetRead,
    BudgetStatus,
    BudgetStatusList,
    ForecastFigures,
    ThresholdState,
)
from app.budgets.service import BudgetFigures, BudgetService, BudgetView
from app.budgets.spend import usd

router = APIRouter(tags=["budgets"])
router.include_router(alerts_router)

_UNKNOWN_TEAM = problem_body(422, "validation-error", "Validation error", "Invalid request: body.team", errors=[
    {"loc": ["body", "team"], "msg": "no team has this name (teams are created when their jobs are ingested)",
     "type": "unknown_team"}])
_ADMIN_ERRORS = {**error_responses(401, 403, 422, 503, examples={422: _UNKNOWN_TEAM}), **INGEST_TOKEN_REFUSED}
_NOT_FOUND = error_responses(404, descriptions={404: "No budget with this id"}, examples={
    404: problem_body(404, "not-found", "Not found", "No budget with id 6f1c3c1e-9a57-4a43-9d43-0a4b1e6f2c11")})


def _read(view: BudgetView) -> BudgetRead:
    b = view.budget
    return BudgetRead(id=b.id, name=b.name, scope=b.scope.value, team_id=b.team_id, team=view.team_name,
                      period=b.period.value, amount=usd(b.amount_micros), thresholds=list(b.thresholds),
                      created_by=b.created_by, created_at=b.created_at, updated_at=b.updated_at)


def _status(figures: BudgetFigures) -> BudgetStatus:
    f = figures.forecast
    forecast = None if f is None else ForecastFigures(
        expected_total=f.expected_total, interval_low=f.interval_low, interval_high=f.interval_high,
        interval_level=str(f.interval_level), method=f.method)
    return BudgetStatus(
        **_read(figures.view).model_dump(), period_start=figures.period_start, period_end=figures.period_end,
        as_of=figures.as_of, actual=figures.actual, actual_percent=figures.actual_percent, forecast=forecast,
        threshold_states=[ThresholdState(percent=t.percent, amount=t.amount, state=t.state, crossed_at=t.crossed_at)
                          for t in figures.thresholds])


@router.post("/admin/budgets", summary="Create a budget", status_code=status.HTTP_201_CREATED,
             response_model=BudgetRead, responses=_ADMIN_ERRORS)
async def create_budget(admin: AdminUser, session: SessionDep, body: BudgetIn) -> BudgetRead:
    """A budget of `amount` USD per calendar `period` (`month` or `quarter`, UTC days) for one team (`scope`
    `team`, naming it by `team` or `team_id`) or for every team together (`all`), with `thresholds` in percent of
    the amount (default 50, 80, 100). Alerts go to the webhooks when actual spend, or the forecast total, reaches a
    threshold (docs/budgets-and-alerts.md). 422 naming the field: an amount not more than 0 or with more than 6
    places, an unknown team, a threshold outside 1..1000 or repeated. Admins only."""
    await start_writing(session)
    return _read(await BudgetService(session).create(body, admin.email))


@router.get("/admin/budgets", summary="List every budget", response_model=BudgetList,
            dependencies=[single_valued_query(caller=AdminUser)],
            responses={**error_responses(401, 403, 503), **INGEST_TOKEN_REFUSED, **QUERY_REFUSED})
async def list_budgets(_: AdminUser, session: SessionDep, scope: ScopeDep) -> BudgetList:
    """Every budget as stored: scope `all` first, then by team name, period and creation. Admins only."""
    return BudgetList(budgets=[_read(v) for v in await BudgetService(session).list(scope)])


@router.patch("/admin/budgets/{budget_id}", summary="Change a budget", response_model=BudgetRead,
              responses={**_ADMIN_ERRORS, **_NOT_FOUND})
async def update_budget(_: AdminUser, session: SessionDep, budget_id: uuid.UUID, body: BudgetPatch) -> BudgetRead:
    """Change the `period`, `amount`, `thresholds` or `name` given (the others stay). A threshold already alerted
    in the current period is not alerted again; a new or lowered one is alerted at the next evaluation if crossed.
    Admins only."""
    await start_writing(session)
    return _read(await BudgetService(session).update(budget_id, body))


@router.delete("/admin/budgets/{budget_id}", summary="Delete a budget", status_code=204, response_class=Response,
               responses={**error_responses(401, 403, 422, 503), **INGEST_TOKEN_REFUSED, **_NOT_FOUND})
async def delete_budget(_: AdminUser, session: SessionDep, budget_id: uuid.UUID) -> Response:
    """Delete a budget: it alerts no more. Its past alerts stay in the webhooks' delivery log. Admins only."""
    await start_writing(session)
    await BudgetService(session).delete(budget_id)
    return Response(status_code=204)


@router.get("/budgets", summary="Budgets with this period's spend", response_model=BudgetStatusList,
            dependencies=[single_valued_query()],
            responses={**error_responses(401, 503), **INGEST_TOKEN_REFUSED, **QUERY_REFUSED})
async def read_budgets(session: SessionDep, scope: ScopeDep) -> BudgetStatusList:
    """The budgets of the caller's teams (an admin: every budget, scope `all` too) in their current period (the
    UTC calendar month or quarter holding today): `actual` USD spent so far (from the daily rollups, as the
    analytics report it; running jobs as they accrue), the `forecast` total when forecasting is available, and each
    threshold's state: `crossed-actual`, `crossed-forecast` or `ok`, with when its alert was recorded."""
    service = BudgetService(session)
    today = budget_service.today()
    return BudgetStatusList(budgets=[_status(await service.figures(v, today)) for v in await service.list(scope)])
