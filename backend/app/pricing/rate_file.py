"""Rate-card files: a whole card of custom rates read from, and written to, CSV or TOML. Pure: no database.

A rate has the columns (CSV) or keys (TOML) `provider` (or `*`), `gpu_type`, `usd_per_gpu_hour` (USD, exact, at
most 6 decimal places), `valid_from` and optional `valid_to` (RFC 3339 instants with an offset; naive times are
refused), and an optional `note`. A TOML card may also give aliases (`[aliases.gpu_type]`, `[aliases.provider]`:
spelling → canonical name). `render_rate_file` writes exactly what `parse_rate_file` reads back, so export →
import round-trips: `parse(render(card)) == card`, and rendering that again gives the same text.

Every problem names where it is (CSV: the line number; TOML: `rates[i]` and, where it can be found, the line)
and the field; a file with any problem is refused whole (`RateFileError` lists them all).
"""

from __future__ import annotations

import csv
import io
import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import PydanticCustomError

from app.core.csv_text import spreadsheet_safe, spreadsheet_text
from app.core.money import six_places
from app.ingestion.normalize import required_text
from app.pricing.rate_rules import NAME_MAX, RateFields

COLUMNS = ("provider", "gpu_type", "usd_per_gpu_hour", "valid_from", "valid_to", "note")
REQUIRED_COLUMNS = COLUMNS[:4]
ALIAS_KINDS = ("gpu_type", "provider")
MAX_PROBLEMS = 50  # listed in one error; the rest are counted


# --- The card ----------------------------------------------------------------------------------------------------


class RateFileFormat(StrEnum):
    csv = "csv"
    toml = "toml"


@dataclass(frozen=True, slots=True)
class FileRate:
    """One rate of a card file, validated: names trimmed, USD exact, instants UTC (to the millisecond)."""

    provider: str
    gpu_type: str
    usd_per_gpu_hour: Decimal
    valid_from: datetime
    valid_to: datetime | None = None
    note: str | None = None

    @property
    def key(self) -> tuple[str, str, datetime]:
        return (self.provider, self.gpu_type, self.valid_from)


@dataclass(frozen=True, slots=True)
class RateFile:
    """A card: its rates in file order and its aliases (TOML only), spelling → canonical name per kind.
    `where` says where each rate stands in the file it was read from (`line 7`, `rates[2] (line 14)`), for
    messages; it is not part of the card (two cards with the same rates are equal)."""

    rates: tuple[FileRate, ...]
    gpu_type_aliases: dict[str, str] = field(default_factory=dict)
    provider_aliases: dict[str, str] = field(default_factory=dict)
    where: tuple[str, ...] = field(default=(), compare=False)


@dataclass(frozen=True, slots=True)
class Problem:
    """Why part of a file was refused: where (`line 7`, `rates[2] (line 14)`), the field (None: the whole entry)."""

    where: str
    field: str | None
    message: str

    def __str__(self) -> str:
        return f"{self.where}, {self.field}: {self.message}" if self.field else f"{self.where}: {self.message}"


class RateFileError(ValueError):
    """The file was refused: every problem found (at most MAX_PROBLEMS listed, the rest counted)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        shown = [str(p) for p in problems[:MAX_PROBLEMS]]
        if len(problems) > MAX_PROBLEMS:
            shown.append(f"… and {len(problems) - MAX_PROBLEMS} more")
        super().__init__("\n".join(shown))


def format_of(path: Path) -> RateFileFormat:
    """The format a file's name says (`.csv`, `.toml`, any case). Raises RateFileError for any other name."""
    suffix = path.suffix.lower().lstrip(".")
    if suffix in RateFileFormat.__members__:
        return RateFileFormat(suffix)
    raise RateFileError([Problem(str(path), None, "name a .csv or .toml file (or give the format)")])


def read_rate_file(path: Path, fmt: RateFileFormat | None = None) -> RateFile:
    """Read and validate a card file (format from its name unless given). Raises RateFileError."""
    fmt = fmt or format_of(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise RateFileError([Problem(str(path), None, f"cannot read it ({exc.strerror or exc})")]) from None
    except UnicodeDecodeError as exc:
        raise RateFileError([Problem(str(path), None, f"not UTF-8 text (byte {exc.start})")]) from None
    return parse_rate_file(text, fmt)


def parse_rate_file(text: str, fmt: RateFileFormat) -> RateFile:
    """Validate a card's text. Raises RateFileError with every problem, each naming its line and field."""
    return _parse_csv(text) if fmt is RateFileFormat.csv else _parse_toml(text)


def _validate(raw: Mapping[str, Any], where: str, line_of: Any, problems: list[Problem]) -> FileRate | None:
    """`raw` as a FileRate, or None after adding its problems; `line_of(field)` says where a field is."""
    try:
        fields = RateFields.model_validate(dict(raw))
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_input=False):
            name = str(error["loc"][0]) if error["loc"] else None
            message = error["msg"]
            if error["type"] == "missing":
                message = "is required"
            elif error["type"] == "extra_forbidden":
                message = f"unknown (the fields are {', '.join(COLUMNS)})"
            problems.append(Problem(line_of(name), name, message))
        return None
    return FileRate(fields.provider, fields.gpu_type, fields.usd_per_gpu_hour, fields.valid_from,
                    fields.valid_to, fields.note)


def _check_overlaps(rates: list[tuple[str, FileRate]], problems: list[Problem]) -> None:
    """Two rates of one (provider, GPU type) may not start at the same instant, nor may a closed one run past
    the next one's start (an open-ended rate followed by a later one is closed by it, as in the API)."""
    by_key: dict[tuple[str, str], list[tuple[str, FileRate]]] = {}
    for where, rate in rates:
        by_key.setdefault((rate.provider, rate.gpu_type), []).append((where, rate))
    for entries in by_key.values():
        entries.sort(key=lambda e: e[1].valid_from)
        for (first_at, first), (second_at, second) in zip(entries, entries[1:], strict=False):
            if first.valid_from == second.valid_from:
                problems.append(Problem(second_at, "valid_from", f"{second.provider}/{second.gpu_type} from "
                                        f"{_instant_text(second.valid_from)} is given twice (also {first_at})"))
            elif first.valid_to is not None and first.valid_to > second.valid_from:
                problems.append(Problem(second_at, "valid_from", f"overlaps {first_at} ({first.provider}/"
                                        f"{first.gpu_type} until {_instant_text(first.valid_to)})"))


# --- CSV ---------------------------------------------------------------------------------------------------------


def _parse_csv(text: str) -> RateFile:
    reader = csv.reader(io.StringIO(text, newline=""))
    problems: list[Problem] = []
    header: list[str] | None = None
    rates: list[tuple[str, FileRate]] = []
    line = 1  # where the next record starts (a quoted cell may span lines)
    try:
        for row in reader:
            start, line = line, reader.line_num + 1
            if not any(cell.strip() for cell in row):
                continue
            if header is None:
                header = [cell.strip() for cell in row]
                if _check_header(header, start, problems):
                    continue
                raise RateFileError(problems)
            where = f"line {start}"
            if len(row) != len(header):
                problems.append(Problem(where, None, f"{len(row)} cells, the header has {len(header)}"))
                continue
            raw = {name: spreadsheet_text(cell) for name, cell in zip(header, row, strict=True)
                   if cell.strip() or name in REQUIRED_COLUMNS}
            rate = _validate(raw, where, lambda _name, where=where: where, problems)
            if rate is not None:
                rates.append((where, rate))
    except csv.Error as exc:
        problems.append(Problem(f"line {reader.line_num}", None, f"not valid CSV ({exc})"))
    if header is None:
        problems.append(Problem("line 1", None, f"no header: the columns are {', '.join(COLUMNS)}"))
    _check_overlaps(rates, problems)
    if problems:
        raise RateFileError(problems)
    return RateFile(tuple(rate for _, rate in rates), where=tuple(where for where, _ in rates))


def _check_header(header: list[str], line: int, problems: list[Problem]) -> bool:
    where = f"line {line} (header)"
    unknown = [name for name in header if name not in COLUMNS]
    twice = sorted({name for name in header if header.count(name) > 1})
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    for name in unknown:
        problems.append(Problem(where, name or "(empty)", f"unknown column (the columns are {', '.join(COLUMNS)})"))
    for name in twice:
        problems.append(Problem(where, name, "column given twice"))
    for name in missing:
        problems.append(Problem(where, name, "required column missing"))
    return not (unknown or twice or missing)


def _render_csv(card: RateFile) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for rate in _sorted(card.rates):
        writer.writerow([spreadsheet_safe(rate.provider), spreadsheet_safe(rate.gpu_type),
                         six_places(rate.usd_per_gpu_hour), _instant_text(rate.valid_from),
                         "" if rate.valid_to is None else _instant_text(rate.valid_to),
                         spreadsheet_safe(rate.note or "")])
    return out.getvalue()


# --- TOML --------------------------------------------------------------------------------------------------------

_RATES_TABLE = re.compile(r"^\s*\[\[\s*rates\s*\]\]\s*(#.*)?$")
_ANY_TABLE = re.compile(r"^\s*\[")


def _rate_table_lines(text: str) -> list[tuple[int, dict[str, int]]]:
    """For each `[[rates]]` table in order: its header's line and the line of each `key = …` in it. A card
    written with `rates = [ {…}, … ]` instead has none, and its problems are named by index only."""
    tables: list[tuple[int, dict[str, int]]] = []
    current: dict[str, int] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if _RATES_TABLE.match(line):
            current = {}
            tables.append((number, current))
        elif _ANY_TABLE.match(line):
            current = None
        elif current is not None:
            key = line.split("=", 1)[0].strip().strip("\"'")
            if "=" in line and key in COLUMNS and key not in current:
                current[key] = number
    return tables


def _toml_value(value: Any) -> Any:
    """TOML's own types as the rules read them: dates and times alone, and local (naive) date-times, refused."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise _NaiveTime("a local date-time without an offset: add one, e.g. 2019-01-01T00:00:00Z")
        return value
    if isinstance(value, date | time):
        raise _NaiveTime("give a date and a time with an offset, e.g. 2019-01-01T00:00:00Z")
    return value


class _NaiveTime(ValueError):
    pass


def _parse_toml(text: str) -> RateFile:
    try:
        document = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise RateFileError([Problem("file", None, f"not valid TOML: {exc}")]) from None
    problems: list[Problem] = []
    for key in sorted(set(document) - {"rates", "aliases"}):
        problems.append(Problem(key, None, "unknown key (a card holds [[rates]] tables and [aliases])"))
    entries = document.get("rates", [])
    if not isinstance(entries, list):
        problems.append(Problem("rates", None, "must be an array of tables ([[rates]])"))
        entries = []
    tables = _rate_table_lines(text)
    located = len(tables) == len(entries)
    rates: list[tuple[str, FileRate]] = []
    for i, entry in enumerate(entries):
        table_line, key_lines = tables[i] if located else (None, {})
        where = f"rates[{i}]" + (f" (line {table_line})" if table_line else "")

        def line_of(name: str | None, i: int = i, key_lines: dict[str, int] = key_lines, where: str = where) -> str:
            return f"rates[{i}] (line {key_lines[name]})" if name in key_lines else where

        if not isinstance(entry, dict):
            problems.append(Problem(where, None, "must be a table of provider, gpu_type, usd_per_gpu_hour, "
                                                 "valid_from, valid_to, note"))
            continue
        raw: dict[str, Any] = {}
        refused: list[Problem] = []
        for name, value in entry.items():
            try:
                raw[name] = _toml_value(value)
            except _NaiveTime as exc:
                refused.append(Problem(line_of(name), name, str(exc)))
        found: list[Problem] = []
        rate = _validate(raw, where, line_of, found)
        # A field refused as TOML is reported once, as such, not also as missing.
        problems += refused + [p for p in found if p.field not in {r.field for r in refused}]
        if rate is not None and not refused:
            rates.append((where, rate))
    _check_overlaps(rates, problems)
    aliases = _parse_aliases(document.get("aliases", {}), problems)
    if problems:
        raise RateFileError(problems)
    return RateFile(tuple(rate for _, rate in rates), aliases["gpu_type"], aliases["provider"],
                    tuple(where for where, _ in rates))


_ALIAS_NAME = required_text(NAME_MAX).func


def _parse_aliases(raw: Any, problems: list[Problem]) -> dict[str, dict[str, str]]:
    aliases: dict[str, dict[str, str]] = {kind: {} for kind in ALIAS_KINDS}
    if not isinstance(raw, dict):
        problems.append(Problem("aliases", None, "must be a table ([aliases.gpu_type], [aliases.provider])"))
        return aliases
    for kind in sorted(set(raw) - set(ALIAS_KINDS)):
        problems.append(Problem(f"aliases.{kind}", None, "unknown kind (gpu_type or provider)"))
    for kind in ALIAS_KINDS:
        table = raw.get(kind, {})
        if not isinstance(table, dict):
            problems.append(Problem(f"aliases.{kind}", None, "must be a table of \"spelling\" = \"name\""))
            continue
        for spelling, target in table.items():
            where = f"aliases.{kind}.{json.dumps(spelling, ensure_ascii=False)}"
            try:
                clean_spelling, clean_target = _ALIAS_NAME(spelling), _ALIAS_NAME(target)
            except PydanticCustomError as exc:
                problems.append(Problem(where, None, f"spelling and name: {exc.message()}"))
                continue
            if clean_spelling in aliases[kind]:
                problems.append(Problem(where, None, "given twice once trimmed"))
                continue
            aliases[kind][clean_spelling] = clean_target
    return aliases


def _toml_string(text: str) -> str:
    # A JSON string literal is a valid TOML basic string: the same escapes (\" \\ \n \t \uXXXX …).
    return json.dumps(text, ensure_ascii=False)


def _render_toml(card: RateFile) -> str:
    lines = ["# jobcost rate card: custom USD per GPU-hour rates (see docs/rate-cards.md)."]
    for rate in _sorted(card.rates):
        lines += ["", "[[rates]]",
                  f"provider = {_toml_string(rate.provider)}",
                  f"gpu_type = {_toml_string(rate.gpu_type)}",
                  f"usd_per_gpu_hour = {_toml_string(six_places(rate.usd_per_gpu_hour))}",
                  f"valid_from = {_instant_text(rate.valid_from)}"]
        if rate.valid_to is not None:
            lines.append(f"valid_to = {_instant_text(rate.valid_to)}")
        if rate.note is not None:
            lines.append(f"note = {_toml_string(rate.note)}")
    for kind, table in (("gpu_type", card.gpu_type_aliases), ("provider", card.provider_aliases)):
        if table:
            lines += ["", f"[aliases.{kind}]"]
            lines += [f"{_toml_string(spelling)} = {_toml_string(name)}" for spelling, name in sorted(table.items())]
    return "\n".join(lines) + "\n"


# --- Both --------------------------------------------------------------------------------------------------------


def render_rate_file(card: RateFile, fmt: RateFileFormat) -> str:
    """The card as file text, rates ordered by provider, GPU type and `valid_from`; amounts with 6 places,
    instants in UTC (`Z`). CSV carries no aliases: a card with aliases needs TOML (ValueError otherwise)."""
    if fmt is RateFileFormat.csv:
        if card.gpu_type_aliases or card.provider_aliases:
            raise ValueError("a CSV card cannot hold aliases: write it as TOML")
        return _render_csv(card)
    return _render_toml(card)


def _sorted(rates: tuple[FileRate, ...]) -> list[FileRate]:
    return sorted(rates, key=lambda r: (r.provider, r.gpu_type, r.valid_from))


def _instant_text(value: datetime) -> str:
    """RFC 3339 in UTC with `Z`, with milliseconds only when there are some (what parse_instant keeps)."""
    value = value.astimezone(UTC)
    spec = "milliseconds" if value.microsecond else "seconds"
    return value.replace(tzinfo=None).isoformat(timespec=spec) + "Z"
