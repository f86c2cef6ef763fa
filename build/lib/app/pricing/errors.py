"""Errors of rate card changes, rendered as problem+json by `app.api.errors` (status, code, and what to fix)."""

from __future__ import annotations

from typing import Any

from app.core.errors import ConflictError, NotFoundError, UnprocessableError


class RateConflictError(ConflictError):
    """409: new rates overlap custom rates of the same (provider, GPU type) in time. `conflicts` lists each:
    `{"index": i, "other": {...}}`, the other rate by id (a stored rate) or by index (one of the same request)."""

    code = "rate-overlap"

    def __init__(self, conflicts: list[dict[str, Any]]) -> None:
        first = conflicts[0]
        super().__init__(f"rates[{first['index']}] overlaps {_named(first['other'])}"
                         + (f" (and {len(conflicts) - 1} more overlaps)" if len(conflicts) > 1 else "")
                         + ": retire it, or give a validity that does not overlap", conflicts=conflicts)


def _named(other: dict[str, Any]) -> str:
    if "id" in other:
        return (f"rate {other['id']} ({other['provider']}, {other['gpu_type']}, from {other['valid_from']}"
                f" to {other['valid_to'] or 'open'})")
    return f"rates[{other['index']}] of the same request"


class RateNotFoundError(NotFoundError):
    """404: no rate has that id (or it is already retired)."""

    def __init__(self, rate_id: object, *, retired: bool = False) -> None:
        super().__init__(f"Rate {rate_id} is already retired" if retired else f"No rate with id {rate_id}")


class CatalogRateError(ConflictError):
    """409: catalog rates come from the shipped file and cannot be retired; a custom rate overrides one."""

    code = "catalog-rate"

    def __init__(self, rate_id: object) -> None:
        super().__init__(f"Rate {rate_id} is a catalog rate (the shipped file re-seeds it at every start): it can "
                         "be overridden by a custom rate for the same provider and GPU type, not retired")


class RateInputError(UnprocessableError):
    """422 for rules checked once names are read (a name too long once canonical, `*` as a GPU type, an empty
    alias): `errors` in FastAPI's shape, each with `loc` naming the item and field."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        fields = ", ".join(dict.fromkeys(".".join(str(p) for p in e["loc"]) for e in errors))
        super().__init__(f"Invalid request: {fields}", errors=errors)
