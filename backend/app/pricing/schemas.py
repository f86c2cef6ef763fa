"""Shapes of `GET /prices`."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from app.core.money import Usd


class PriceRead(BaseModel):
    """One rate: USD per GPU-hour for a (provider, GPU type), in force from `valid_from` until the next rate."""

    model_config = ConfigDict(from_attributes=True)

    provider: str = Field(examples=["aws"])
    gpu_type: str = Field(examples=["H100"])
    usd_per_gpu_hour: Usd
    valid_from: datetime = Field(examples=["2020-01-01T00:00:00Z"])
    source: str = Field(description="Where the figure comes from (a public price page).")
    source_date: date = Field(description="The date of that source.")


class PriceCatalogRead(BaseModel):
    """The catalog used to estimate costs, and the spellings that map onto its names."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"currency": "USD", "prices": [
            {"provider": "aws", "gpu_type": "H100", "usd_per_gpu_hour": "6.880000",
             "valid_from": "2020-01-01T00:00:00Z",
             "source": "https://raw.githubusercontent.com/datareceipts/data-receipts/main/109-gpu-pricing/"
                       "hyperscalers.json",
             "source_date": "2026-11-09"}],
         "aliases": {"gpu_type": {"a100-sxm4-80gb": "A100-80GB"}, "provider": {"amazon": "aws"}}}]})

    currency: str = Field(default="USD", examples=["USD"])
    prices: list[PriceRead]
    aliases: dict[str, dict[str, str]] = Field(
        description="`gpu_type` and `provider`: spelling (trimmed, case-folded) → catalog name.",
        examples=[{"gpu_type": {"a100-sxm4-80gb": "A100-80GB"}, "provider": {"amazon": "aws"}}])
