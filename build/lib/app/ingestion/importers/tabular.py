"""`csv` and `ndjson`: any other export, read through a mapping from job fields to the export's own columns.

A row becomes a record in the `JobIn` wire shape. Which column (CSV) or key (NDJSON) feeds which job field:

1. `--map FIELD=SOURCE` (`options.mapping`), where FIELD is a `JobIn` field (`job_id`, `team`, `status`,
   `model_name`, `gpu_type`, `gpu_count`, `provider`, `user`, `submitted_at`, `started_at`, `ended_at`,
   `observed_at`, `cost`, `currency`, `labels`) or `labels.KEY` (the column becomes label KEY).
   `--team-from C` is `--map team=C`, `--model-from C` is `--map model_name=C`. SOURCE `A+B` joins the
   non-blank values of several columns (keys) with `_` (`--map job_id=JobID+ArrayIndex` → `846_3`), unless the
   header has a column named `A+B` itself.
2. A column or key already named like a field (`job_id`, `labels.project`, …) and not mapped otherwise is taken
   as it is. Other columns and keys are ignored (a note names them).
3. `--team`, `--provider` and `--gpu-type` give every row the same team, provider or GPU type (they take the place
   of a column of that name; giving one together with a mapping of that field is an error).

Values: blank cells and JSON nulls are left out, as if absent. Timestamps without an offset
(`2026-01-14 08:00[:00[.fff]]`, `T` or a space) are read as wall-clock times in `--tz` (default UTC) and sent in
UTC; a time repeated by a clock change is read as its first occurrence (noted), a time skipped by one skips the
row. Timestamps with an offset are sent as they are. NDJSON numbers are read exactly (`Decimal`) and sent as
decimal text, in any field (an integer `job_id` becomes its digits). A `labels` CSV cell holds a JSON object.
`--cluster C` turns every job id into `C:<id>`. Nothing else is checked here: validation is the service's (or
`jobcost ingest --dry-run`'s), so a record with, say, no `status` is still yielded and refused there, by line.

Skipped rows (reason, line): CSV rows that are not readable CSV (bad quoting), that have more or fewer cells than
the header, or whose cells are all blank; NDJSON lines that are not JSON, not an object, or over 1 Mi
characters; rows with a local time that cannot be read. Empty lines are not rows: neither read nor counted.

The mapping and the building of records are in `tabular_mapping.py`; the readers of the two formats are here.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator
from typing import Any, ClassVar, TextIO

from app.ingestion.importers.base import ImporterConfigError, ImportOptions, MappedRow, Tally
from app.ingestion.importers.tabular_mapping import JOIN_MARK, MISSING, Mapping, RecordBuilder, Skip, joined
from app.ingestion.ndjson import MAX_LINE_BYTES, BadLine, decode_line

_NAMES_SHOWN = 12
_IGNORED_KEPT = 100  # distinct ignored NDJSON keys remembered for the note


def _shown(names: list[str]) -> str:
    more = f" and {len(names) - _NAMES_SHOWN} more" if len(names) > _NAMES_SHOWN else ""
    return ", ".join(names[:_NAMES_SHOWN]) + more


class CsvImporter:
    """`--format csv`: a comma-separated file with a header row (or `--fields` naming the columns of a file
    without one), quoted as RFC 4180. See the module docstring for the mapping."""

    format: ClassVar[str] = "csv"

    def __init__(self, options: ImportOptions) -> None:
        self.options = options
        self.mapping = Mapping(options, self.format)
        self.builder = RecordBuilder(options, self.mapping, labels_from_text=True)

    def read(self, stream: TextIO, tally: Tally) -> Iterator[MappedRow]:
        """Yield one record per data row. Raises ImporterConfigError (before yielding) for a missing or unreadable
        header, or a mapped column the header does not have."""
        reader = csv.reader(stream, strict=True)
        header = self._header(reader)
        columns = self._columns(header)
        self._notes(header, columns, tally)
        while True:
            start = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                tally.read()
                tally.skip("not readable CSV", start, str(exc))
                continue
            if not row:
                continue
            tally.read()
            mapped = self._row(row, start, len(header), columns, tally)
            if mapped is not None:
                tally.map()
                yield mapped

    def _row(self, row: list[str], line: int, width: int, columns: dict[str, tuple[int, ...]],
             tally: Tally) -> MappedRow | None:
        if not any(cell.strip() for cell in row):
            tally.skip("empty row", line)
            return None
        if len(row) != width:
            tally.skip("wrong number of cells", line, f"{len(row)} cells; the header has {width}")
            return None
        try:
            record = self.builder.build(((field, row[indexes[0]] if len(indexes) == 1 else
                                          joined(row[i] for i in indexes)) for field, indexes in columns.items()),
                                        tally)
        except Skip as skip:
            tally.skip(skip.reason, line, skip.detail)
            return None
        return MappedRow(line=line, record=record)

    def _header(self, reader: Any) -> list[str]:
        if self.options.fields:
            return [name.strip() for name in self.options.fields]
        try:
            header = next((row for row in reader if row), None)
        except csv.Error as exc:
            raise ImporterConfigError(f"line {reader.line_num}: the header row is not readable CSV ({exc})") from None
        if header is None:
            raise ImporterConfigError("the file is empty: no header row (give --fields for a file without one)")
        names = [cell.strip() for cell in header]
        names[0] = names[0].lstrip("\ufeff").strip()
        return names

    def _columns(self, header: list[str]) -> dict[str, tuple[int, ...]]:
        """field → its column indexes (several for a joined source `A+B`; a column whose own name holds `+` is
        taken whole), explicit mappings first, then columns named like a field."""
        positions: dict[str, list[int]] = {}
        for index, name in enumerate(header):
            positions.setdefault(name, []).append(index)
        columns: dict[str, tuple[int, ...]] = {}
        for field, source in self.mapping.explicit.items():
            names = (source,) if source in positions else (self.mapping.parts(field) or (source,))
            for name in names:
                if name not in positions:
                    raise ImporterConfigError(f"{self.mapping.origin[field]}: no column {name!r} in the header; "
                                              f"its columns are {_shown(header)}{_separator_hint(header)}")
            columns[field] = tuple(self._single(name, positions) for name in names)
        for name in positions:
            if self.mapping.own_name(name):
                columns[name] = (self._single(name, positions),)
        return columns

    @staticmethod
    def _single(name: str, positions: dict[str, list[int]]) -> int:
        if len(positions[name]) > 1:
            where = ", ".join(str(i + 1) for i in positions[name])
            raise ImporterConfigError(f"the header has column {name!r} more than once (columns {where}): "
                                      "rename one, or use --fields to name the columns yourself")
        return positions[name][0]

    def _notes(self, header: list[str], columns: dict[str, tuple[int, ...]], tally: Tally) -> None:
        used = {header[index] for indexes in columns.values() for index in indexes}
        read = [f"{field} <- {JOIN_MARK.join(header[i] for i in indexes)}" for field, indexes in columns.items()]
        read += [f"{field} = {value!r}" for field, value in self.mapping.constants.items()]
        tally.note("columns read: " + (", ".join(read) or "none"))
        ignored = [name for name in dict.fromkeys(header) if name not in used]
        if ignored:
            tally.note(f"columns ignored: {_shown(ignored)}")


def _separator_hint(header: list[str]) -> str:
    if len(header) == 1 and (";" in header[0] or "\t" in header[0]):
        return " (only commas separate columns: is this file separated by ';' or tabs?)"
    return ""


class NdjsonImporter:
    """`--format ndjson`: one JSON object per line (JSON Lines). Keys are mapped as CSV columns are; a dotted
    SOURCE (`--map team=meta.team`) is looked up as a whole key first, then as a path into nested objects (whose
    keys may hold dots: `labels.nvidia.com/gpu.product`)."""

    format: ClassVar[str] = "ndjson"

    def __init__(self, options: ImportOptions) -> None:
        if options.fields:
            raise ImporterConfigError("--fields does not apply to --format ndjson: each line names its own keys")
        self.options = options
        self.mapping = Mapping(options, self.format)
        self.builder = RecordBuilder(options, self.mapping, labels_from_text=False)

    def read(self, stream: TextIO, tally: Tally) -> Iterator[MappedRow]:
        """Yield one record per non-blank line; lines that are not JSON objects are skipped."""
        if self.mapping.describe():
            tally.note(self.mapping.describe() + "; other keys named like a job field are taken as they are")
        absent: Counter[str] = Counter()
        ignored: dict[str, None] = {}
        for number, content in _lines(stream):
            # Each line is read as the ingest endpoint reads an NDJSON body's lines, with the same messages.
            document = decode_line(number, content, MAX_LINE_BYTES)
            if document is None:
                continue
            tally.read()
            if isinstance(document, BadLine):
                tally.skip("not a JSON object", number, document.message)
                continue
            absent["(objects)"] += 1
            try:
                record = self.builder.build(self._values(document, absent, ignored), tally)
            except Skip as skip:
                tally.skip(skip.reason, number, skip.detail)
                continue
            tally.map()
            yield MappedRow(line=number, record=record)
        self._end_notes(absent, ignored, tally)

    def _values(self, document: dict[str, Any], absent: Counter[str],
                ignored: dict[str, None]) -> Iterator[tuple[str, Any]]:
        used = set()
        for field, source in self.mapping.explicit.items():
            value = _lookup(document, source)
            parts = self.mapping.parts(field) if value is MISSING else ()
            if parts:
                values = [_lookup(document, part) for part in parts]
                value = MISSING if all(v is MISSING for v in values) else joined(iter(values))
            if value is MISSING:
                absent[field] += 1
                continue
            used.add(source)
            used.update(parts)
            yield field, value
        for key, value in document.items():
            if self.mapping.own_name(key):
                yield key, value
            elif key not in used and len(ignored) < _IGNORED_KEPT:
                ignored[key] = None

    def _end_notes(self, absent: Counter[str], ignored: dict[str, None], tally: Tally) -> None:
        objects = absent.pop("(objects)", 0)
        for field, count in absent.items():
            tally.note(f"{self.mapping.origin[field]}: no such key in {count:,} of {objects:,} objects")
        names = {name for field, source in self.mapping.explicit.items()
                 for name in (source, *self.mapping.parts(field))}
        sources = {part for name in names for part in (name, name.split(".")[0])}
        names = [name for name in ignored if name not in sources]
        if names:
            more = " (and perhaps others)" if len(ignored) >= _IGNORED_KEPT else ""
            tally.note(f"keys ignored: {_shown(names)}{more}")


def _lines(stream: TextIO) -> Iterator[tuple[int, bytes | None]]:
    """(line number, UTF-8 bytes without the newline) for each line; None for a line over MAX_LINE_BYTES, whose
    rest is skipped without being held in memory."""
    number = 0
    while True:
        text = stream.readline(MAX_LINE_BYTES + 1)
        if not text:
            return
        number += 1
        ended = text.endswith("\n")
        content = (text[:-1] if ended else text).encode("utf-8", "surrogatepass")
        while not ended and len(text) > MAX_LINE_BYTES:  # over the cap in characters: drop the rest of the line
            text = stream.readline(MAX_LINE_BYTES + 1)
            ended = not text or text.endswith("\n")
        yield number, None if len(content) > MAX_LINE_BYTES else content


def _lookup(document: dict[str, Any], source: str) -> Any:
    """The value at `source`: the key `source` itself, else a path into nested objects, where a step may be a key
    that holds dots itself (`labels.nvidia.com/gpu.product` finds key `nvidia.com/gpu.product` of `labels`);
    shorter steps are tried first. `MISSING` when there is none."""
    if source in document:
        return document[source]
    parts = source.split(".")
    for cut in range(1, len(parts)):
        inner = document.get(".".join(parts[:cut]))
        if isinstance(inner, dict):
            found = _lookup(inner, ".".join(parts[cut:]))
            if found is not MISSING:
                return found
    return MISSING


IMPORTERS = {"csv": CsvImporter, "ndjson": NdjsonImporter}
