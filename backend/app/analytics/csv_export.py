"""The analytics query's rows as CSV, for chargeback spreadsheets: a header, then one line per row, with the very
decimal strings of the JSON answer (USD and GPU-hours to 6 places).

Text that a spreadsheet would run as a formula (a team or model name starting with `=`, `+`, `-`, `@`, a tab or
a carriage return) is written with a leading `'`, as OWASP advises against CSV injection; numbers never need it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date

from app.analytics.query_schemas import CostQueryReport, CostRow
from app.core.money import six_places

MEASURES = ("cost", "gpu_hours", "unpriced_gpu_hours", "wasted_cost", "job_count")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _group_columns(group_by: list[str]) -> list[str]:
    return [name for dimension in group_by for name in ((dimension, "team_id") if dimension == "team"
                                                        else (dimension,))]


def columns(group_by: list[str]) -> list[str]:
    """The header: the period, each dimension (`team` followed by `team_id`), `other`, then the measures."""
    return ["period_start", "period_end", *_group_columns(group_by), "other", *MEASURES]


def _text(value: str | None) -> str:
    if value is None:
        return ""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _line(values: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(values)
    return buffer.getvalue()


def _day(value: date | None) -> str:
    return "" if value is None else value.isoformat()


def _row(dimensions: list[str], row: CostRow) -> list[str]:
    return [_day(row.period_start), _day(row.period_end), *(_text(row.group.get(name)) for name in dimensions),
            "true" if row.other else "false", six_places(row.cost), six_places(row.gpu_hours),
            six_places(row.unpriced_gpu_hours), six_places(row.wasted_cost), str(row.job_count)]


def report_lines(report: CostQueryReport) -> Iterator[str]:
    """The CSV text of `report`'s rows, line by line (RFC 4180: CRLF line ends, quotes where needed)."""
    yield _line(columns(report.group_by))
    dimensions = _group_columns(report.group_by)
    for row in report.rows:
        yield _line(_row(dimensions, row))


def file_name(report: CostQueryReport) -> str:
    """`jobcost-cost_2026-01-01_2026-01-31_by-team-model_weekly.csv`: the window, the dimensions and the step."""
    parts = ["jobcost-cost", report.start.isoformat() if report.start else "first",
             report.end.isoformat() if report.end else "last"]
    if report.group_by:
        parts.append("by-" + "-".join(name.replace("label:", "label-") for name in report.group_by))
    if report.step:
        parts.append({"day": "daily", "week": "weekly", "month": "monthly"}[report.step])
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "-" for c in "_".join(parts))
    return safe + ".csv"
