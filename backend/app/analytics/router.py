"""`/analytics/cost/…`: what was spent in a window of UTC days, by team and by model."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from app.analytics.schemas import CostWindowQuery, ModelCostReport, TeamCostReport
from app.analytics.service import CostAnalyticsService
from app.api.deps import ScopeDep, SessionDep, single_valued_query
from app.api.errors import error_responses, problem_body

router = APIRouter(prefix="/analytics/cost", tags=["analytics"], dependencies=[single_valued_query()])


def _responses() -> dict[int | str, dict[str, Any]]:
    return error_responses(401, 403, 422, 503, descriptions={
        403: "A member asked for a team (`team_id` or `team`) it does not belong to, or an ingest API token "
             "(it may only ingest)",
        422: "A date not written YYYY-MM-DD, `end` before `start`, a parameter given twice, or an unknown one "
             "(such as `tz`: days are UTC days)",
    }, examples={
        403: problem_body(403, "forbidden", "Forbidden",
                          "You can read only your own teams' jobs and costs; team is not one of them"),
        422: problem_body(422, "validation-error", "Validation error", "Invalid request: query.end", errors=[
            {"loc": ["query", "end"], "msg": "must not be before start (end is the last day included)",
             "type": "window_reversed"}]),
    })


# The rules both endpoints share, for their OpenAPI descriptions.
_WINDOW = """
The window is UTC days, `start` and `end` both included (`start=2026-01-01&end=2026-01-31` is
January); either may be left out for an open end, and is then echoed as null. A job's cost is counted on the days
it ran (its cost snapshots): a job from 22:00 on the 3rd to 02:00 on the 4th puts half its cost in each day, so any
window sums exactly what was spent inside it. `unpriced_gpu_hours` is GPU time with neither a billed cost nor a
catalog price: counted in `gpu_hours`, never given an invented cost. Amounts are USD and GPU-hours, as 6-place
decimal strings. Admins see every team; members only their teams."""


@router.get(
    "/by-team", summary="Cost by team", response_model=TeamCostReport, responses=_responses(),
    description="Cost, GPU-hours, unpriced GPU-hours and job count per team, with totals, sorted by cost "
                "descending then team name.\n" + _WINDOW,
)
async def cost_by_team(window: Annotated[CostWindowQuery, Query()], scope: ScopeDep,
                       session: SessionDep) -> TeamCostReport:
    """Per-team cost over the UTC days of `window` (see `CostAnalyticsService.by_team`); 403 for a member's
    foreign team filter, 422 for a bad or reversed window."""
    return await CostAnalyticsService(session, scope).by_team(window)


@router.get(
    "/by-model", summary="Cost by model", response_model=ModelCostReport, responses=_responses(),
    description="Cost, GPU-hours, unpriced GPU-hours and job count per model, with totals, sorted by cost "
                "descending then model name; jobs without a model are grouped under `model_name: null`.\n"
                + _WINDOW,
)
async def cost_by_model(window: Annotated[CostWindowQuery, Query()], scope: ScopeDep,
                        session: SessionDep) -> ModelCostReport:
    """Per-model cost over the UTC days of `window` (see `CostAnalyticsService.by_model`); 403 for a member's
    foreign team filter, 422 for a bad or reversed window."""
    return await CostAnalyticsService(session, scope).by_model(window)
