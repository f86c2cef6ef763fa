"""The default GPU price catalog shipped in `app/data/gpu_prices.json`, and the name aliases it carries.

The file lists on-demand USD per GPU-hour for `(provider, gpu_type)` pairs, each with its public source and that
source's date, plus aliases for common spellings of providers and GPU types. Alias keys, and the canonical names
themselves, match after trimming and case folding: `"A100-SXM4-80GB"` and `" a100 80gb "` both become
`A100-80GB`; `"Amazon"` becomes `aws`. Names the catalog does not know are trimmed, GPU types upper-cased and
providers lower-cased.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

from app.db.types import usd_to_micros
from app.pricing.aliases import canonical_gpu_type, canonical_provider

CATALOG_RESOURCE = "data/gpu_prices.json"


class CatalogError(ValueError):
    """The catalog file is malformed: which entry and why."""


@dataclass(frozen=True, slots=True)
class CatalogPrice:
    """One rate of the file: USD per GPU-hour for (provider, gpu_type) from `valid_from`, and its source."""

    provider: str
    gpu_type: str
    usd_per_gpu_hour: Decimal
    valid_from: datetime
    source: str
    source_date: date


@dataclass(frozen=True, slots=True)
class PriceCatalog:
    """Prices and aliases. `gpu_type_aliases`/`provider_aliases` map case-folded spellings to canonical names."""

    prices: tuple[CatalogPrice, ...]
    gpu_type_aliases: dict[str, str]
    provider_aliases: dict[str, str]

    def canonical_gpu_type(self, name: str) -> str:
        """The catalog's name for GPU type `name` (`app.pricing.aliases.canonical_gpu_type` with these aliases):
        its alias; else the canonical MIG slice type for a slice in any spelling; else trimmed and upper-cased."""
        return canonical_gpu_type(name, self.gpu_type_aliases)

    def canonical_provider(self, name: str) -> str:
        """The catalog's name for provider `name`; an unknown provider trimmed and lower-cased (`CoreWeave` →
        `coreweave`), as provider names are ids."""
        return canonical_provider(name, self.provider_aliases)


def _aliases(raw: dict[str, Any], canonical: set[str], kind: str) -> dict[str, str]:
    table = {name.casefold(): name for name in canonical}
    for spelling, target in raw.items():
        if not isinstance(spelling, str) or not isinstance(target, str):
            raise CatalogError(f"aliases.{kind}: keys and values must be strings")
        table[spelling.strip().casefold()] = target
    return table


def parse_catalog(document: dict[str, Any]) -> PriceCatalog:
    """Validate a catalog document (the JSON file's shape, numbers as decimal strings). Raises CatalogError."""
    prices = []
    seen: set[tuple[str, str, datetime]] = set()
    for i, entry in enumerate(document.get("prices", [])):
        try:
            amount = Decimal(entry["usd_per_gpu_hour"]) if isinstance(entry["usd_per_gpu_hour"], str) else None
            if amount is None or not amount.is_finite() or amount <= 0:
                raise ValueError("usd_per_gpu_hour must be a positive decimal string")
            usd_to_micros(amount)  # at most 6 places, in range
            valid_from = datetime.fromisoformat(entry["valid_from"])
            if valid_from.tzinfo is None:
                raise ValueError("valid_from needs an offset")
            price = CatalogPrice(
                provider=str(entry["provider"]).strip(), gpu_type=str(entry["gpu_type"]).strip(),
                usd_per_gpu_hour=amount, valid_from=valid_from.astimezone(UTC), source=str(entry["source"]),
                source_date=date.fromisoformat(entry["source_date"]))
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise CatalogError(f"prices[{i}]: {exc}") from exc
        key = (price.provider, price.gpu_type, price.valid_from)
        if key in seen:
            raise CatalogError(f"prices[{i}]: duplicate {key[0]}/{key[1]} from {price.valid_from.isoformat()}")
        seen.add(key)
        prices.append(price)
    aliases = document.get("aliases", {})
    gpu_types = _aliases(aliases.get("gpu_type", {}), {p.gpu_type for p in prices}, "gpu_type")
    providers = _aliases(aliases.get("provider", {}), {p.provider for p in prices}, "provider")
    return PriceCatalog(tuple(prices), gpu_types, providers)


@cache
def default_catalog() -> PriceCatalog:
    """The catalog bundled with jobcost (read once per process)."""
    text = resources.files("app").joinpath(CATALOG_RESOURCE).read_text(encoding="utf-8")
    return parse_catalog(json.loads(text))
