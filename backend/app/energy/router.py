"""`/energy/coefficients` (the figures energy and carbon estimates are made from, for any reader) and
`/admin/energy/coefficients…` (the admins' overrides of them, and their log).

A change is committed first, then the jobs it touches are recomputed through the recost machinery
(`app.recost.runner`): the answer carries what was recomputed, or 202 with the `Location` of an operation when
the work is long."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status
from fastapi.exceptions import RequestValidationError

from app.api.deps import (
    INGEST_TOKEN_REFUSED,
    QUERY_REFUSED,
    AdminUser,
    ReaderDep,
    SessionDep,
    single_valued_query,
    start_writing,
)
from app.api.errors import error_responses
from app.energy.override_schemas import (
    EnergyChangeList,
    EnergyChangeRead,
    EnergyRecomputeRead,
    OverrideRead,
    OverrideRemoved,
    OverridesIn,
    OverridesSet,
)
from app.energy.overrides import Key, OverrideInput, OverrideService
from app.energy.schemas import CoefficientsRead
from app.energy.service import read_coefficients, recompute_condition
from app.jobs.schemas import MAX_SKIP
from app.recost.deps import RecostRunnerDep
from app.recost.router import OPERATIONS_PATH
from app.recost.runner import ENERGY_RECOMPUTE_KIND, RecostRunner
from app.recost.schemas import OperationRead

router = APIRouter(tags=["energy"])

_CHANGE_ERRORS = {**error_responses(401, 403, 422, 503), **INGEST_TOKEN_REFUSED}
_LONG_WORK_TEXT = "Changed; the recompute is long work: an operation to poll at `Location`"


@router.get("/energy/coefficients", summary="Energy and carbon coefficients", response_model=CoefficientsRead,
            dependencies=[single_valued_query()],
            responses={**error_responses(401, 503), **INGEST_TOKEN_REFUSED, **QUERY_REFUSED})
async def get_energy_coefficients(_: ReaderDep, session: SessionDep) -> CoefficientsRead:
    """Per GPU type the watts drawn idle and at full load, per provider the PUE, per (provider, region) the grid
    intensity in gCO2e/kWh, each with its source (Cloud Carbon Footprint's methodology, vendors' data sheets, or
    `admin:<email>` for an admin's override: `origin` `file` or `admin`) and the date it was read or set; and the
    defaults an estimate falls back on (named in a job's `energy.defaults_used`). A job without measured energy
    is estimated as GPU-hours × (idle + u × (full − idle)) × PUE, u its utilisation or 0.5; carbon is energy ×
    intensity. Any signed-in user, and read tokens."""
    return await read_coefficients(session)


async def _recompute(runner: RecostRunner, keys: list[Key], email: str, response: Response
                     ) -> tuple[EnergyRecomputeRead | None, OperationRead | None]:
    if not keys:
        return None, None
    outcome = await runner.after_change(recompute_condition(keys), created_by=email, kind=ENERGY_RECOMPUTE_KIND)
    if outcome.operation is not None:
        response.status_code = status.HTTP_202_ACCEPTED
        response.headers["Location"] = f"{OPERATIONS_PATH}/{outcome.operation.id}"
        return None, OperationRead.of(outcome.operation)
    return (None if outcome.report is None else EnergyRecomputeRead.of(outcome.report)), None


@router.post("/admin/energy/coefficients", summary="Override energy coefficients", response_model=OverridesSet,
             responses={202: {"model": OverridesSet, "description": _LONG_WORK_TEXT}, **_CHANGE_ERRORS})
async def set_energy_overrides(admin: AdminUser, session: SessionDep, runner: RecostRunnerDep, response: Response,
                               body: OverridesIn) -> OverridesSet:
    """Set overrides, in one transaction, each replacing the shipped file's figure of its key (or adding one the
    file lacks): `gpu` (`gpu_type`, `idle_watts` ≤ `full_watts`, watts per GPU, 0–10,000), `pue` (`provider`,
    `pue`, 1–10) or `grid` (`provider`, `region`, `g_co2e_per_kwh`, 0–10,000); figures are decimal strings with
    at most 3 places; names are read through the aliases, regions case-folded. Each bad field is named (422).
    An override with the figures and note already in force is `unchanged` and writes nothing.

    The jobs whose estimates the changed figures enter (a GPU type's and its MIG slices', a provider's, a
    (provider, region)'s; billed jobs too, their cost stays) are recomputed at once (`recompute`), or as an
    operation (202 + `Location`). Measured energy stays as measured; its carbon follows a grid override. Every
    change is logged (`GET /admin/energy/coefficients/changes`). Admins only."""
    await start_writing(session)
    email = admin.email
    outcome = await OverrideService(session).set([o.to_input() for o in body.overrides], email)
    written = [OverrideRead.of(row) for row in outcome.written]
    await session.commit()
    recompute, operation = await _recompute(runner, outcome.keys, email, response)
    return OverridesSet(set=written, unchanged=outcome.unchanged, recompute=recompute, operation=operation)


@router.delete("/admin/energy/coefficients", summary="Remove an energy coefficient override",
               response_model=OverrideRemoved,
               responses={202: {"model": OverrideRemoved, "description": _LONG_WORK_TEXT}, **_CHANGE_ERRORS,
                          **error_responses(404, descriptions={404: "No override of that key"})})
async def unset_energy_override(
        admin: AdminUser, session: SessionDep, runner: RecostRunnerDep, response: Response,
        kind: Annotated[Literal["gpu", "pue", "grid"], Query(description="Which figure: `gpu`, `pue` or `grid`.")],
        gpu_type: Annotated[str | None, Query(description="For `gpu`: the GPU type.", examples=["H100"])] = None,
        provider: Annotated[str | None, Query(description="For `pue` and `grid`: the provider.",
                                              examples=["onprem"])] = None,
        region: Annotated[str | None, Query(description="For `grid`: the region.", examples=["dc-east"])] = None,
) -> OverrideRemoved:
    """Remove the override of one key: the shipped file's figure (or, where the file has none, the default) is
    in force again, and the jobs it touches are recomputed (`recompute`, or 202 + `Location`). 404 when that key
    has no override; 422 naming the query parameter a kind needs and lacks. Admins only."""
    needed = {"gpu": ("gpu_type",), "pue": ("provider",), "grid": ("provider", "region")}[kind]
    given = {"gpu_type": gpu_type, "provider": provider, "region": region}
    missing = [name for name in needed if not (given[name] or "").strip()]
    if missing:
        raise RequestValidationError([{"loc": ("query", name), "msg": f"is required for kind {kind}",
                                       "type": "missing"} for name in missing])
    await start_writing(session)
    email = admin.email
    removed = await OverrideService(session).unset(
        OverrideInput(kind, provider=provider or "", gpu_type=gpu_type or "", region=region or ""), email)
    read = OverrideRead.of(removed)
    key: Key = (removed.kind, removed.provider, removed.gpu_type, removed.region)
    await session.commit()
    recompute, operation = await _recompute(runner, [key], email, response)
    return OverrideRemoved(removed=read, recompute=recompute, operation=operation)


@router.get("/admin/energy/coefficients/changes", summary="The log of energy coefficient changes",
            dependencies=[single_valued_query(caller=AdminUser)],
            response_model=EnergyChangeList, responses={**error_responses(401, 403, 422, 503), **INGEST_TOKEN_REFUSED})
async def list_energy_changes(_: AdminUser, session: SessionDep,
                              skip: Annotated[int, Query(ge=0, le=MAX_SKIP, description="Changes to skip "
                                                         "(0 ≤ skip ≤ 1,000,000,000).")] = 0,
                              limit: Annotated[int, Query(ge=1, le=100, description="Page size.")] = 50
                              ) -> EnergyChangeList:
    """Every override set or unset, newest first: who (`actor`), when, `action` (`set`, `unset`), the key
    (`kind`, `provider`, `gpu_type`, `region`; `""` where unused) and the figure in force before and after
    (`origin` `admin` for an override, `file` for the shipped file's, null for a default). Pages of `limit`
    (1–100) after `skip`; `total` counts them all. Admins only."""
    page = await OverrideService(session).changes(skip=skip, limit=limit)
    return EnergyChangeList(changes=[EnergyChangeRead.model_validate(c) for c in page.changes], total=page.total,
                            skip=skip, limit=limit, has_more=page.has_more)
