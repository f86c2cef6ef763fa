"""Names of GPU types and providers: spellings mapped to canonical names, from the database's `name_aliases`
(the shipped catalog's aliases, seeded at start, and the admins').

A spelling matches after trimming and case folding. A GPU type without an alias is read as a MIG slice when it is
one (`app.pricing.mig`, its parent resolved through the same aliases), else trimmed and upper-cased; a provider
without an alias is trimmed and lower-cased (provider names are ids).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import AliasKind, NameAlias
from app.pricing.mig import canonical_mig_type


def canonical_gpu_type(name: str, aliases: Mapping[str, str]) -> str:
    """The canonical GPU type of `name` given `aliases` (case-folded spelling → canonical name): its alias; else,
    for a MIG slice in any spelling (`a100_3g.40gb`, `nvidia.com/mig-3g.40gb`, …), the canonical slice type
    `<PARENT>-MIG-<g>G.<mem>GB` with the parent resolved through `aliases`; else `name` trimmed and upper-cased
    (`b200` → `B200`), so spellings that differ only in case are one type."""
    cleaned = name.strip()
    aliased = aliases.get(cleaned.casefold())
    if aliased:
        return aliased
    return (canonical_mig_type(cleaned, alias=lambda parent: aliases.get(parent.strip().casefold()))
            or _same_length(cleaned, cleaned.upper()))


def canonical_provider(name: str, aliases: Mapping[str, str]) -> str:
    """The canonical provider of `name`: its alias, else `name` trimmed and lower-cased (`CoreWeave` →
    `coreweave`)."""
    cleaned = name.strip()
    return aliases.get(cleaned.casefold()) or _same_length(cleaned, cleaned.lower())


def _same_length(original: str, changed: str) -> str:
    # Case mapping can lengthen text ("ß".upper() is "SS"); keep the original then, so length limits still hold.
    return changed if len(changed) == len(original) else original


@dataclass(frozen=True, slots=True)
class NameResolver:
    """The aliases in force: `gpu_type_aliases`/`provider_aliases` map case-folded spellings to canonical names."""

    gpu_type_aliases: Mapping[str, str]
    provider_aliases: Mapping[str, str]

    def canonical_gpu_type(self, name: str) -> str:
        """See `canonical_gpu_type` (module function)."""
        return canonical_gpu_type(name, self.gpu_type_aliases)

    def canonical_provider(self, name: str) -> str:
        """See `canonical_provider` (module function)."""
        return canonical_provider(name, self.provider_aliases)


async def load_name_resolver(session: AsyncSession) -> NameResolver:
    """The aliases stored in `name_aliases` (catalog and custom; a custom alias replaces the catalog's row of the
    same spelling), as a NameResolver. Empty when the table is (see `load_name_resolver_or_catalog`)."""
    tables: dict[AliasKind, dict[str, str]] = {AliasKind.gpu_type: {}, AliasKind.provider: {}}
    rows = await session.execute(select(NameAlias.kind, NameAlias.spelling, NameAlias.canonical))
    for kind, spelling, canonical in rows:
        tables[AliasKind(kind)][spelling] = canonical
    return NameResolver(tables[AliasKind.gpu_type], tables[AliasKind.provider])
