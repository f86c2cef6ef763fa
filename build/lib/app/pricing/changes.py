"""The log of rate card changes (`price_changes`): who changed what, when, and the row before and after."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.money import six_places
from app.db.base import utcnow
from app.db.models import GpuPrice, NameAlias, PriceChange

CATALOG_ACTOR = "catalog"


def rate_json(rate: GpuPrice) -> dict[str, Any]:
    """A rate as the log keeps it: JSON values only (USD as a 6-place decimal string, instants RFC 3339 UTC)."""
    return {"id": str(rate.id), "provider": rate.provider, "gpu_type": rate.gpu_type,
            "usd_per_gpu_hour": six_places(rate.usd_per_gpu_hour), "valid_from": _iso(rate.valid_from),
            "valid_to": _iso(rate.valid_to), "origin": str(rate.origin), "note": rate.note, "source": rate.source,
            "source_date": rate.source_date.isoformat() if rate.source_date else None,
            "created_by": rate.created_by, "retired_at": _iso(rate.retired_at), "retired_by": rate.retired_by}


def alias_json(kind: str, spelling: str, canonical: str | None, origin: str | None = None) -> dict[str, Any]:
    """An alias as the log keeps it (`canonical` None: the spelling had no alias)."""
    return {"kind": str(kind), "spelling": spelling, "canonical": canonical, "origin": origin}


def alias_row_json(alias: NameAlias) -> dict[str, Any]:
    return alias_json(alias.kind, alias.spelling, alias.canonical, str(alias.origin))


def _iso(instant: datetime | None) -> str | None:
    return instant.isoformat().replace("+00:00", "Z") if instant is not None else None


def log_change(session: AsyncSession, *, actor: str, action: str, rate_id: uuid.UUID | None = None,
               before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
               at: datetime | None = None) -> PriceChange:
    """Add one change to the session (written with the caller's transaction). `action`: `add`, `close`, `retire`,
    `reopen`, `alias` or `catalog`."""
    change = PriceChange(id=uuid.uuid4(), created_at=at or utcnow(), actor=actor, action=action, rate_id=rate_id,
                         before=before, after=after)
    session.add(change)
    return change


@dataclass(frozen=True, slots=True)
class ChangePage:
    """A page of the log, newest first: `total` changes in all, `has_more` when another page follows."""

    changes: list[PriceChange]
    total: int
    has_more: bool


async def list_changes(session: AsyncSession, *, skip: int = 0, limit: int = 50) -> ChangePage:
    """The log newest first (ties by id), `limit` changes after the first `skip`."""
    total = (await session.execute(select(func.count()).select_from(PriceChange))).scalar_one()
    rows = await session.execute(select(PriceChange).order_by(PriceChange.created_at.desc(), PriceChange.id.desc())
                                 .offset(skip).limit(limit))
    changes = list(rows.scalars())
    return ChangePage(changes, total, skip + len(changes) < total)
