"""Choosing JSON or CSV for the endpoints that offer both: an explicit `format` parameter wins; otherwise the
`Accept` header, read as RFC 9110 says (media ranges case-insensitive, `q` weights, `q=0` meaning "not this").
CSV is chosen when `text/csv` is acceptable and weighs at least as much as JSON would; anything else gets JSON,
the default (a client that accepts only, say, XML is answered in JSON rather than refused)."""

from __future__ import annotations


def _weights(accept: str) -> dict[str, float]:
    """Media range → its `q` weight (1 when not given; 0 for a malformed weight)."""
    found: dict[str, float] = {}
    for item in accept.split(","):
        media, *parameters = (part.strip() for part in item.split(";"))
        if not media:
            continue
        weight = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = max(0.0, min(1.0, float(value)))
                except ValueError:
                    weight = 0.0
        found[media.lower()] = max(weight, found.get(media.lower(), 0.0))
    return found


def _weight(weights: dict[str, float], media: str) -> float:
    kind = media.split("/")[0]
    for candidate in (media, f"{kind}/*", "*/*"):
        if candidate in weights:
            return weights[candidate]
    return 0.0


def wants_csv(format: str | None, accept: str | None) -> bool:
    """True for `format=csv`, or, with no `format`, an `Accept` header that prefers `text/csv` to JSON."""
    if format is not None:
        return format == "csv"
    if not accept:
        return False
    weights = _weights(accept)
    if "text/csv" not in weights:  # only an explicit text/csv asks for CSV; */* is content with the default
        return False
    csv_weight = weights["text/csv"]
    return csv_weight > 0 and csv_weight >= _weight(weights, "application/json")
