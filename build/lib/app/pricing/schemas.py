"""Shapes of `GET /prices` and of the admin's rate card changes (`/admin/prices…`)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.money import Usd
from app.pricing.rate_input import MAX_RATES
from app.pricing.rate_rules import RateFields
from app.recost.schemas import REPORT_EXAMPLE, RecostAnswer

_RATE_EXAMPLE = {"id": "6f1c3c1e-9a57-4a43-9d43-0a4b1e6f2c11", "provider": "onprem", "gpu_type": "V100",
                 "usd_per_gpu_hour": "2.100000", "valid_from": "2019-01-01T00:00:00Z", "valid_to": None,
                 "origin": "custom", "source": None, "source_date": None, "note": "chargeback rate 2019",
                 "created_by": "admin@example.com", "created_at": "2026-12-06T00:00:00Z", "retired_at": None,
                 "state": None}

RateState = Literal["in_force", "future", "ended", "superseded", "retired"]


class PriceRead(BaseModel):
    """One rate: USD per GPU-hour for a (provider or `*`, GPU type) over `[valid_from, valid_to)`; an open rate
    (`valid_to` null) lasts until the next rate of its provider, GPU type and origin."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    provider: str = Field(examples=["aws"], description="A provider, or `*`: any provider without a rate of its "
                                                        "own for this GPU type at that instant.")
    gpu_type: str = Field(examples=["H100"])
    usd_per_gpu_hour: Usd
    valid_from: datetime = Field(examples=["2020-01-01T00:00:00Z"])
    valid_to: datetime | None = Field(default=None, description="End (exclusive); null: open.")
    origin: Literal["catalog", "custom"] = Field(description="`catalog`: the shipped file; `custom`: an admin's.")
    source: str | None = Field(description="Where a catalog figure comes from (a public price page); null for "
                                           "custom rates.")
    source_date: date | None = Field(description="The date of that source.")
    note: str | None = None
    created_by: str | None = Field(default=None, description="The admin who added it (`catalog` for the file).")
    created_at: datetime
    retired_at: datetime | None = None
    state: RateState | None = Field(default=None, description="At the instant asked: `in_force`, `future`, "
                                    "`ended` (past `valid_to`), `superseded` (a later rate took over) or `retired`.")


class PriceCatalogRead(BaseModel):
    """The rate card at an instant (or its whole history), and the spellings that map onto its names."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"currency": "USD", "at": "2026-12-06T00:00:00Z", "prices": [
            {"id": "6f1c3c1e-9a57-4a43-9d43-0a4b1e6f2c11", "provider": "aws", "gpu_type": "H100",
             "usd_per_gpu_hour": "6.880000", "valid_from": "2020-01-01T00:00:00Z", "valid_to": None,
             "origin": "catalog",
             "source": "https://raw.githubusercontent.com/datareceipts/data-receipts/main/109-gpu-pricing/"
                       "hyperscalers.json",
             "source_date": "2026-11-09", "note": None, "created_by": "catalog",
             "created_at": "2026-12-06T00:00:00Z", "retired_at": None, "state": "in_force"}],
         "aliases": {"gpu_type": {"a100-sxm4-80gb": "A100-80GB"}, "provider": {"amazon": "aws"}}}]})

    currency: str = Field(default="USD", examples=["USD"])
    at: datetime = Field(description="The instant the card is shown at (UTC).")
    prices: list[PriceRead]
    aliases: dict[str, dict[str, str]] = Field(
        description="`gpu_type` and `provider`: spelling (trimmed, case-folded) → canonical name.",
        examples=[{"gpu_type": {"a100-sxm4-80gb": "A100-80GB"}, "provider": {"amazon": "aws"}}])


class RatesIn(BaseModel):
    """Custom rates to add, all or none."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"rates": [
        {"provider": "onprem", "gpu_type": "V100", "usd_per_gpu_hour": "2.10", "valid_from": "2019-01-01T00:00:00Z",
         "note": "chargeback rate 2019"}]}]})

    rates: list[RateFields] = Field(min_length=1, max_length=MAX_RATES)


class ClosedRateRead(BaseModel):
    """An open-ended rate the new ones closed: it now ends at `closed_at`, where `closed_by` begins."""

    rate: PriceRead
    closed_at: datetime
    closed_by: uuid.UUID


class RatesAdded(RecostAnswer):
    """The rates added (request order), the rates they closed, and the recost (see `RecostAnswer`)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"added": [_RATE_EXAMPLE], "closed": [], "unchanged": [], "message": "1 rate(s) added",
         "recost": REPORT_EXAMPLE, "operation": None}]})

    added: list[PriceRead]
    closed: list[ClosedRateRead] = Field(default_factory=list)
    unchanged: list[int] = Field(default_factory=list, description="Indexes of rates already in the card.")
    message: str


class RateRetired(RecostAnswer):
    """The rate retired, the rates reopened (those its addition had closed), and the recost."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"retired": {**_RATE_EXAMPLE, "retired_at": "2026-12-07T00:00:00Z"}, "reopened": [],
         "message": "rate 6f1c3c1e-9a57-4a43-9d43-0a4b1e6f2c11 retired", "recost": REPORT_EXAMPLE,
         "operation": None}]})

    retired: PriceRead
    reopened: list[PriceRead] = Field(default_factory=list)
    message: str


class AliasesIn(BaseModel):
    """Spellings to map onto canonical names: `{"gpu_type": {"V100M16": "V100"}, "provider": {"dc1": "onprem"}}`."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"gpu_type": {"V100M16": "V100"}, "provider": {"OnPrem-DC": "onprem"}}]})

    gpu_type: dict[str, str] = Field(default_factory=dict)
    provider: dict[str, str] = Field(default_factory=dict)


class AliasesSet(RecostAnswer):
    """Per kind, spelling → `{"before": name read before, "after": name now}` for the spellings that read
    differently now, and the recost."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"changed": {"gpu_type": {"v100m16": {"before": "V100M16", "after": "V100"}}}, "recost": REPORT_EXAMPLE,
         "operation": None}]})

    changed: dict[str, dict[str, dict[str, str]]]


class PriceChangeRead(BaseModel):
    """One change of the rate card: who, when, what (`action`), the rate it is about, the row before and after."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    created_at: datetime
    actor: str = Field(description="An admin's e-mail, or `catalog` for the shipped file's seeding.")
    action: str = Field(examples=["add"], description="`add`, `close`, `retire`, `reopen`, `alias` or `catalog`.")
    rate_id: uuid.UUID | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class PriceChangeList(BaseModel):
    """A page of the change log, newest first."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"changes": [{"id": "0b7e4a53-1f7e-4d4f-a0c1-52c1b2f0a9d2", "created_at": "2026-12-06T00:00:00Z",
                      "actor": "admin@example.com", "action": "add",
                      "rate_id": "6f1c3c1e-9a57-4a43-9d43-0a4b1e6f2c11", "before": None, "after": _RATE_EXAMPLE}],
         "total": 1, "skip": 0, "limit": 50, "has_more": False}]})

    changes: list[PriceChangeRead]
    total: int
    skip: int
    limit: int
    has_more: bool
