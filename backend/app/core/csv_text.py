"""CSV lines for the exports (RFC 4180: CRLF line ends, quotes where needed), with text a spreadsheet would run
as a formula defused: a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`, as
OWASP advises against CSV injection (team, model, user and job names come from schedulers and scripts)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: str) -> str:
    """`value`, with a leading `'` when a spreadsheet would read it as a formula."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def spreadsheet_text(cell: str) -> str:
    """What `spreadsheet_safe` was given for `cell`: the leading `'` it adds taken off (a cell read back from an
    export, as `jobcost prices import` reads `prices export`)."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(_FORMULA_START) else cell


def csv_lines(rows: Iterable[Iterable[str]]) -> str:
    """The CSV text of `rows` (each cell made `spreadsheet_safe`), one CRLF-ended line each."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows([spreadsheet_safe(cell) for cell in row] for row in rows)
    return out.getvalue()
