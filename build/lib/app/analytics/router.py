"""`/analytics/cost…`: what was spent in a window of UTC days, grouped and stepped as asked (as JSON or CSV), and
the by-team and by-model reports."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse

from app.analytics import csv_export
from app.analytics.query_schemas import QUERY_EXAMPLE, REPEATABLE, CostQuery, CostQueryReport
from app.analytics.schemas import CostWindowQuery, ModelCostReport, TeamCostReport
from app.analytics.service import CostAnalyticsService
from app.api.deps import ScopeDep, SessionDep, single_valued_query
from app.api.errors import error_responses, problem_body
from app.api.negotiation import wants_csv

router = APIRouter(prefix="/analytics/cost", tags=["analytics"])


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


_QUERY_422 = problem_body(422, "validation-error", "Validation error", "Invalid request: query.group_by", errors=[
    {"loc": ["query", "group_by"], "msg": "unknown dimension 'region': use team, model, gpu_type, provider, user, "
                                          "status or label:KEY", "type": "dimension"}])
_CSV_EXAMPLE = "".join(csv_export.report_lines(QUERY_EXAMPLE["group_by"], QUERY_EXAMPLE["rows"]))


@router.get(
    "", summary="Cost by any dimensions, over time", response_model=CostQueryReport,
    dependencies=[single_valued_query(*REPEATABLE)],
    responses={200: {"content": {"text/csv": {"example": _CSV_EXAMPLE}},
                     "description": "The report as JSON, or its rows as CSV with `format=csv` / `Accept: text/csv`"},
               **error_responses(401, 403, 422, 503, descriptions={
                   403: "A member named a team (`team_id` or `team`) it does not belong to, or an ingest API token",
                   422: "An unknown or repeated dimension, more than 3, a bad date, `end` before `start`, a "
                        "`label` filter not KEY:VALUE, `limit` out of 1–1000, a single-valued parameter given "
                        "twice, or an unknown parameter"}, examples={422: _QUERY_422})},
    description="""
Cost, GPU-hours, unpriced GPU-hours, wasted cost and distinct jobs, grouped by up to three dimensions (`team`,
`model`, `gpu_type`, `provider`, `user`, `status`, `label:KEY`) and stepped by UTC day, ISO week or calendar month,
with totals over the window. For example `group_by=team&step=week&start=2026-01-01&end=2026-03-31` is each team's
spend per week of the quarter; `group_by=status` shows what failed work cost.

- **Window**: UTC days, `start` and `end` both included; either may be left out. A period is clipped to it.
- **Filters** are repeatable: values of one filter are alternatives (OR); different filters must all hold (AND).
- **Rows**: a group's value is null for jobs without it (no model, say). `job_count` is the distinct jobs that
  ran in the row's period; `totals.job_count` counts each job once over the window, so it is not the rows' sum.
  With `limit`, each period keeps its top groups and sums the rest into an `other: true` row: the rows of a
  period always add up to the period's total.
- **Wasted cost** is the cost of jobs whose status (as last ingested) is failed, cancelled or preempted: spend on
  work that did not complete. A job's whole cost counts, on the days it ran.
- **CSV**: `format=csv` (or `Accept: text/csv`) sends the rows as a CSV file (`period_start, period_end`, the
  dimensions with `team_id` after `team`, `other`, then the measures), with the same decimal strings.
- Admins see every team; members only their teams, whatever the dimension.
- Read from rollups kept with the snapshots: in milliseconds at 10 million jobs. `label:KEY` dimensions and
  `label` filters read the snapshots themselves, and are slower on large databases.
""" + _WINDOW,
)
async def cost_query(query: Annotated[CostQuery, Query()], request: Request, scope: ScopeDep,
                     session: SessionDep) -> Any:
    """The analytics query (see `CostAnalyticsService.query`) as JSON, or with `format=csv` / `Accept: text/csv`
    as a CSV attachment; 403 for a member's foreign team filter, 422 for a bad parameter."""
    result = await CostAnalyticsService(session, scope).query(query)
    if not wants_csv(query.format, request.headers.get("accept")):
        # Encoded as is: the document already has the report's shape, and a year of days by team is thousands of
        # rows that a model per row would make ten times slower to send.
        return Response(orjson.dumps(result.document()), media_type="application/json")
    name = csv_export.file_name(query.group_by, query.step, query.start, query.end)
    return StreamingResponse(csv_export.report_lines(query.group_by, result.rows),
                             media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get(
    "/by-team", summary="Cost by team", response_model=TeamCostReport, responses=_responses(),
    dependencies=[single_valued_query()],
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
    dependencies=[single_valued_query()],
    description="Cost, GPU-hours, unpriced GPU-hours and job count per model, with totals, sorted by cost "
                "descending then model name; jobs without a model are grouped under `model_name: null`.\n"
                + _WINDOW,
)
async def cost_by_model(window: Annotated[CostWindowQuery, Query()], scope: ScopeDep,
                        session: SessionDep) -> ModelCostReport:
    """Per-model cost over the UTC days of `window` (see `CostAnalyticsService.by_model`); 403 for a member's
    foreign team filter, 422 for a bad or reversed window."""
    return await CostAnalyticsService(session, scope).by_model(window)
