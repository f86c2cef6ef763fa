"""The analytics query's rows as CSV, for chargeback spreadsheets: a header, then one line per row, with the very
decimal strings of the JSON answer (USD and GPU-hours to 6 places); names a spreadsheet would run as formulas are
defused (`app.core.csv_text`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from app.core.csv_text import csv_lines

MEASURES = ("cost", "gpu_hours", "unpriced_gpu_hours", "wasted_cost", "job_count", "energy_kwh",
            "energy_measured_kwh", "co2e_kg", "co2e_measured_kg", "idle_gpu_hours", "idle_cost",
            "utilization_known_gpu_hours")


def _group_columns(group_by: list[str]) -> list[str]:
    return [name for dimension in group_by for name in ((dimension, "team_id") if dimension == "team"
                                                        else (dimension,))]


def columns(group_by: list[str]) -> list[str]:
    """The header: the period, each dimension (`team` followed by `team_id`), `other`, then the measures."""
    return ["period_start", "period_end", *_group_columns(group_by), "other", *MEASURES]


def _row(dimensions: list[str], row: dict[str, Any]) -> list[str]:
    group = row["group"]
    return [row["period_start"] or "", row["period_end"] or "", *(group.get(name) or "" for name in dimensions),
            "true" if row["other"] else "false", *(str(row[name]) for name in MEASURES)]


def report_lines(group_by: list[str], rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    """The CSV text of the analytics query's `rows` (as `CostQueryResult` holds them: ISO dates and 6-place decimal
    strings), line by line (RFC 4180: CRLF line ends, quotes where needed)."""
    yield csv_lines([columns(group_by)])
    dimensions = _group_columns(group_by)
    for row in rows:
        yield csv_lines([_row(dimensions, row)])


def file_name(group_by: list[str], step: str | None, start: date | None, end: date | None) -> str:
    """`jobcost-cost_2026-01-01_2026-01-31_by-team-model_weekly.csv`: the window, the dimensions and the step."""
    parts = ["jobcost-cost", start.isoformat() if start else "first", end.isoformat() if end else "last"]
    if group_by:
        parts.append("by-" + "-".join(name.replace("label:", "label-") for name in group_by))
    if step:
        parts.append({"day": "daily", "week": "weekly", "month": "monthly"}[step])
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "-" for c in "_".join(parts))
    return safe + ".csv"
