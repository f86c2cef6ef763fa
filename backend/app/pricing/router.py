"""`/prices` (the rate card estimates are made from) and `/admin/prices…` (the admin's changes to it).

A change is committed first, then the jobs it can reprice are recosted (`app.recost`): the answer carries the
recost's report, or 202 with the `Location` of an operation when the work is long."""

from __future__ import annotations

import uuid
from datetime import UTC
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status
from pydantic import AwareDatetime

from app.api.deps import (
    INGEST_TOKEN_REFUSED,
    AdminUser,
    ReaderDep,
    SessionDep,
    single_valued_query,
    start_writing,
)
from app.api.errors import error_responses, problem_body
from app.db.base import utcnow
from app.jobs.schemas import MAX_SKIP
from app.pricing.catalog import default_catalog
from app.pricing.rates import RateCardService
from app.pricing.schemas import (
    AliasesIn,
    AliasesSet,
    ClosedRateRead,
    PriceCatalogRead,
    PriceChangeList,
    PriceChangeRead,
    PriceRead,
    RateRetired,
    RatesAdded,
    RatesIn,
)
from app.pricing.service import load_name_resolver_or_catalog
from app.recost.deps import RecostRunnerDep
from app.recost.router import recost_answer

router = APIRouter(tags=["pricing"])

_CHANGE_ERRORS = {**error_responses(401, 403, 422, 503), **INGEST_TOKEN_REFUSED}
_OVERLAP = problem_body(
    409, "rate-overlap", "Conflict", "rates[0] overlaps rate 6f1c3c1e-9a57-4a43-9d43-0a4b1e6f2c11 (onprem, V100, from "
    "2019-01-01T00:00:00Z to 2020-01-01T00:00:00Z): retire it, or give a validity that does not overlap",
    conflicts=[{"index": 0, "other": {"id": "6f1c3c1e-9a57-4a43-9d43-0a4b1e6f2c11", "provider": "onprem",
                                      "gpu_type": "V100", "valid_from": "2019-01-01T00:00:00Z",
                                      "valid_to": "2020-01-01T00:00:00Z"}}])
_CATALOG_RATE = problem_body(409, "catalog-rate", "Conflict", "Rate 6f1c3c1e-9a57-4a43-9d43-0a4b1e6f2c11 is a "
                             "catalog rate (the shipped file re-seeds it at every start): it can be overridden by a "
                             "custom rate for the same provider and GPU type, not retired")
_LONG_WORK_TEXT = "Changed; the recost is long work: an operation to poll at `Location`"


@router.get("/prices", summary="The rate card (GPU prices)", response_model=PriceCatalogRead,
            dependencies=[single_valued_query()],
            responses={**error_responses(401, 422, 503), **INGEST_TOKEN_REFUSED})
async def get_prices(_: ReaderDep, session: SessionDep,
                     at: Annotated[AwareDatetime | None, Query(
                         description="RFC 3339 instant with an offset (naive: 422): the card in force then. "
                                     "Default: now.", examples=["2025-06-01T00:00:00Z"])] = None,
                     include: Annotated[Literal["history"] | None, Query(
                         description="`history`: every rate ever added, retired, ended and superseded ones too, "
                                     "each with its `state` at `at`.")] = None) -> PriceCatalogRead:
    """The rates in force at `at` (now by default), in USD per GPU-hour, ordered by provider, GPU type and
    `valid_from`: catalog rates (the shipped file, each with its public source and that source's date) and the
    admins' custom rates (with their note and author), plus the aliases that map other spellings onto these names.

    A job without a billed cost is estimated as GPU-hours × the rate in force while it ran. Which rate applies to
    a job's (provider, GPU type) at an instant, most specific first: a custom rate for the pair > a catalog rate
    for it > a custom `*` rate for the GPU type > a catalog `*` rate; a MIG slice with none of its own costs g/7
    of its parent GPU's. Any signed-in user."""
    instant = at.astimezone(UTC) if at is not None else utcnow()  # answered in UTC, whatever offset it came with
    views = await RateCardService(session).list_rates(at=instant, history=include == "history")
    names = await load_name_resolver_or_catalog(session, default_catalog())
    aliases = {
        "gpu_type": {k: v for k, v in sorted(names.gpu_type_aliases.items()) if k != v.casefold()},
        "provider": {k: v for k, v in sorted(names.provider_aliases.items()) if k != v.casefold()},
    }
    prices = [PriceRead.model_validate(view.rate).model_copy(update={"state": view.state}) for view in views]
    return PriceCatalogRead(at=instant, prices=prices, aliases=aliases)


@router.post("/admin/prices", summary="Add custom rates", status_code=status.HTTP_201_CREATED,
             response_model=RatesAdded,
             responses={202: {"model": RatesAdded, "description": _LONG_WORK_TEXT}, **_CHANGE_ERRORS, **error_responses(
                 409, descriptions={409: "A rate overlaps a custom rate of the same provider and GPU type; "
                                         "`conflicts` names each (`index`, `other`)"}, examples={409: _OVERLAP})})
async def add_prices(admin: AdminUser, session: SessionDep, runner: RecostRunnerDep, response: Response,
                     body: RatesIn) -> RatesAdded:
    """Add custom rates in one transaction, all or none: `provider` (or `*`), `gpu_type`, `usd_per_gpu_hour`
    (USD, a decimal string, at most 6 places), `valid_from`, optional `valid_to` (RFC 3339 with an offset) and
    `note`. Names are read through the aliases, as jobs' are. Each bad rate is named by index and field (422).

    A rate overlapping in time a custom rate of the same (provider, GPU type) is refused (409, naming the other),
    unless that one is open-ended and starts earlier: it is then closed at the new `valid_from` (`closed`).
    The jobs the change can reprice are recosted at once (`recost`), or as an operation (202 + `Location`).
    Admins only."""
    await start_writing(session)
    email = admin.email
    outcome = await RateCardService(session).add_rates(body.rates, email)
    added = [PriceRead.model_validate(rate) for rate in outcome.added]
    closed = [ClosedRateRead(rate=PriceRead.model_validate(c.rate), closed_at=c.at, closed_by=c.by)
              for c in outcome.closed]
    await session.commit()
    message = f"{len(added)} rate(s) added"
    if closed:
        message += "; closed " + ", ".join(f"rate {c.rate.id} at {c.closed_at:%Y-%m-%dT%H:%M:%SZ}" for c in closed)
    answer = recost_answer(await runner.after_change(outcome.scopes, created_by=email), response)
    return RatesAdded(added=added, closed=closed, unchanged=outcome.unchanged, message=message,
                      recost=answer.recost, operation=answer.operation)


_RETIRE_ERRORS = error_responses(404, 409, descriptions={404: "No rate with that id, or it is already retired",
                                                        409: "A catalog rate: override it with a custom rate instead"},
                                 examples={409: _CATALOG_RATE})


@router.delete("/admin/prices/{rate_id}", summary="Retire a custom rate", response_model=RateRetired,
               responses={202: {"model": RateRetired, "description": _LONG_WORK_TEXT}, **_CHANGE_ERRORS,
                          **_RETIRE_ERRORS})
async def retire_price(admin: AdminUser, session: SessionDep, runner: RecostRunnerDep, response: Response,
                       rate_id: uuid.UUID) -> RateRetired:
    """Retire a custom rate: it stays in the history (`GET /prices?include=history`) and no longer prices
    anything; the rates its addition had closed are reopened, so the figures from before it come back. The jobs
    it priced are recosted (`recost`, or 202 + `Location`). Catalog rates cannot be retired (409). Admins only."""
    await start_writing(session)
    email = admin.email
    outcome = await RateCardService(session).retire(rate_id, email)
    retired = PriceRead.model_validate(outcome.retired)
    reopened = [PriceRead.model_validate(rate) for rate in outcome.reopened]
    await session.commit()
    message = f"rate {retired.id} retired" + (
        "; reopened " + ", ".join(str(r.id) for r in reopened) if reopened else "")
    answer = recost_answer(await runner.after_change(outcome.scopes, created_by=email), response)
    return RateRetired(retired=retired, reopened=reopened, message=message, recost=answer.recost,
                       operation=answer.operation)


@router.post("/admin/prices/aliases", summary="Set GPU type and provider aliases", response_model=AliasesSet,
             responses={202: {"model": AliasesSet, "description": _LONG_WORK_TEXT}, **_CHANGE_ERRORS})
async def set_aliases(admin: AdminUser, session: SessionDep, runner: RecostRunnerDep, response: Response,
                      body: AliasesIn) -> AliasesSet:
    """Map spellings onto canonical names, e.g. `{"gpu_type": {"V100M16": "V100"}}`: jobs (and rates) sent with
    that spelling, in any case, are read as the canonical name from now on. A custom alias replaces the catalog's
    for the same spelling. `changed` lists the spellings that now read differently; the jobs stored under the
    name they read as before are recosted (`recost`, or 202 + `Location`). Admins only."""
    await start_writing(session)
    email = admin.email
    outcome = await RateCardService(session).set_aliases(gpu_type=body.gpu_type, provider=body.provider,
                                                         created_by=email)
    await session.commit()
    changed = {kind: {spelling: {"before": before, "after": after} for spelling, (before, after) in table.items()}
               for kind, table in outcome.changed.items()}
    answer = recost_answer(await runner.after_change(outcome.scopes, created_by=email), response)
    return AliasesSet(changed=changed, recost=answer.recost, operation=answer.operation)


@router.get("/admin/prices/changes", summary="The log of rate card changes", response_model=PriceChangeList,
            dependencies=[single_valued_query(caller=AdminUser)],
            responses={**error_responses(401, 403, 422, 503), **INGEST_TOKEN_REFUSED})
async def list_price_changes(_: AdminUser, session: SessionDep,
                             skip: Annotated[int, Query(ge=0, le=MAX_SKIP, description="Changes to skip "
                                                        "(0 ≤ skip ≤ 1,000,000,000).")] = 0,
                             limit: Annotated[int, Query(ge=1, le=100, description="Page size.")] = 50
                             ) -> PriceChangeList:
    """Every change of the rate card, newest first: who (`actor`), when, what (`action`: `add`, `close`,
    `retire`, `reopen`, `alias`, `catalog` for the shipped file's seeding), the rate and the row before and
    after. Pages of `limit` (1–100) after `skip`; `total` counts them all. Admins only."""
    page = await RateCardService(session).changes(skip=skip, limit=limit)
    return PriceChangeList(changes=[PriceChangeRead.model_validate(c) for c in page.changes], total=page.total,
                           skip=skip, limit=limit, has_more=page.has_more)
