"""The bundled demo batch, `app/data/mock_jobs.json`: 30 jobs of 3 teams over 1–14 January 2026."""

from __future__ import annotations

from importlib import resources
from typing import Any

from app.ingestion.wire import decode_json

MOCK_RESOURCE = "data/mock_jobs.json"


def load_mock_jobs() -> list[dict[str, Any]]:
    """The mock job records, decoded exactly as an HTTP batch is (numbers with a fraction as `Decimal`)."""
    document = decode_json(resources.files("app").joinpath(MOCK_RESOURCE).read_bytes())
    return list(document["jobs"])
