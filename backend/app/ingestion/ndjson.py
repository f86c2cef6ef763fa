"""Reading an NDJSON body (one JSON object per line) as it streams in, one chunk of lines at a time.

`read_chunks(body)` splits a stream of bytes into lines without ever holding more than one line (at most
`MAX_LINE_BYTES`) plus one chunk of decoded records (`CHUNK_LINES` lines) in memory, however long the body. Each
line is decoded exactly as a JSON body is (`app.ingestion.wire.decode_json`: exact decimals, duplicate keys
refused). Lines are numbered from 1, blank lines included; a blank line (only spaces, tabs or a carriage return)
is skipped and not counted. A line that cannot be a job — longer than the cap, not UTF-8, not JSON, not a JSON
object — becomes a `BadLine` that fails alone. `ReportSum` adds the per-chunk reports into one `IngestReport`.
Nothing here touches the database or the web framework.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from app.ingestion.schemas import IngestError, IngestReport
from app.ingestion.service import MAX_REPORTED_ERRORS
from app.ingestion.wire import JsonDecodeError, decode_json
from app.metrics.registry import count_ingest

# Media types read as NDJSON (lower case, without parameters). `application/json-seq` (RFC 7464) is not among
# them: its records are framed by a record separator, and may span lines.
NDJSON_MEDIA_TYPES = frozenset({"application/x-ndjson", "application/ndjson", "application/jsonl",
                                "application/x-jsonlines"})
# Lines (records and bad lines; blank lines not counted) given to the service, and committed, at a time; a chunk
# also ends once its lines reach CHUNK_BYTES, so the decoded records in memory stay bounded whatever the lines
# hold (a 1 MiB line of `[{},{},…]` decodes to some 23 MB of Python objects).
CHUNK_LINES = 10_000
CHUNK_BYTES = 8 * 1024 * 1024
# The longest line read. A job record is at most ~60 KB (50 labels of 1,024 characters); past this, the line is
# refused and the rest of it is skipped without being kept in memory.
MAX_LINE_BYTES = 1024 * 1024
_BLANK = b" \t\r"
_JSON_POSITION = re.compile(r": line 1 column (\d+) \(char \d+\)$")


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line that is not a job record at all: `line` is its 1-based number, `message` says why."""

    line: int
    message: str


@dataclass(slots=True)
class LineChunk:
    """Consecutive non-blank lines of the body: the JSON objects in `records` (their line numbers in `lines`, the
    same length) and the lines that could not be read in `bad`. Both in line order."""

    records: list[dict[str, Any]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    bad: list[BadLine] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.records) + len(self.bad)


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MiB" if limit % (1024 * 1024) == 0 else f"{limit:,} bytes"


async def split_lines(body: AsyncIterable[bytes], max_line_bytes: int) -> AsyncIterator[tuple[int, bytes | None]]:
    """Yield `(line_number, content)` for each line of `body` (1-based; the `\\n` removed, a `\\r` before it kept).
    `content` is None for a line longer than `max_line_bytes`, whose remaining bytes are dropped as they arrive.
    A last line without a final newline is yielded too."""
    number = 0
    pending = bytearray()
    too_long = False
    async for data in body:
        start = 0
        while True:
            end = data.find(b"\n", start)
            piece = data[start:] if end == -1 else data[start:end]
            if not too_long and len(pending) + len(piece) > max_line_bytes:
                too_long = True
                pending.clear()
            if not too_long:
                pending += piece
            if end == -1:
                break
            number += 1
            yield number, None if too_long else bytes(pending)
            pending.clear()
            too_long = False
            start = end + 1
    if pending or too_long:
        yield number + 1, None if too_long else bytes(pending)


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if value is None:
        return "`null`"
    return "a number"


def decode_line(number: int, content: bytes | None, max_line_bytes: int) -> dict[str, Any] | BadLine | None:
    """The JSON object on line `number`, a BadLine saying why there is none, or None for a blank line."""
    if content is None:
        return BadLine(number, f"the line is longer than the limit of {_size(max_line_bytes)} per line: send one "
                               "job record (a JSON object) per line, each line ended by a newline")
    if not content.strip(_BLANK):
        return None
    try:
        content.decode("utf-8")
    except UnicodeDecodeError as exc:
        return BadLine(number, f"the line is not valid UTF-8 (byte {exc.start + 1} of the line)")
    try:
        value = decode_json(content)
    except JsonDecodeError as exc:
        reason = _JSON_POSITION.sub(r" at column \1", str(exc))
        return BadLine(number, f"the line is not valid JSON: {reason}")
    if not isinstance(value, dict):
        return BadLine(number, f"a job must be a JSON object; this line holds {_kind(value)}")
    return value


async def read_chunks(body: AsyncIterable[bytes], *, chunk_lines: int | None = None,
                      max_line_bytes: int | None = None) -> AsyncIterator[LineChunk]:
    """Yield the non-blank lines of the NDJSON `body` in chunks of `chunk_lines` (default `CHUNK_LINES`) or of
    `CHUNK_BYTES` of line text, whichever comes first, the last one possibly shorter; nothing for an empty body.
    Lines over `max_line_bytes` (default `MAX_LINE_BYTES`) are bad lines. The next chunk is read only once the
    caller asks for it."""
    size = chunk_lines or CHUNK_LINES
    cap = max_line_bytes or MAX_LINE_BYTES
    chunk = LineChunk()
    chunk_bytes = 0
    async for number, content in split_lines(body, cap):
        item = decode_line(number, content, cap)
        if item is None:
            continue
        chunk_bytes += len(content or b"")
        if isinstance(item, BadLine):
            chunk.bad.append(item)
        else:
            chunk.records.append(item)
            chunk.lines.append(number)
        if len(chunk) >= size or chunk_bytes >= CHUNK_BYTES:
            yield chunk
            chunk = LineChunk()
            chunk_bytes = 0
    if len(chunk):
        yield chunk


@dataclass(slots=True)
class ReportSum:
    """The report of a whole NDJSON body: each chunk's counts added, its errors (bad lines and refused records,
    by line number) listed up to the report's 1,000 entries and counted in `errors_omitted` past them.
    `last_line` is the last line of the chunks added so far."""

    received: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    superseded: int = 0
    failed: int = 0
    teams_created: int = 0
    errors: list[IngestError] = field(default_factory=list)
    errors_omitted: int = 0
    last_line: int = 0

    def add(self, chunk: LineChunk, report: IngestReport | None) -> None:
        """Add one chunk: its bad lines, and `report`, the service's report on its records (None when the chunk
        held no record)."""
        self.last_line = max(chunk.lines[-1] if chunk.lines else 0, chunk.bad[-1].line if chunk.bad else 0)
        self.received += len(chunk.bad)
        self.failed += len(chunk.bad)
        count_ingest({"failed": len(chunk.bad)})  # lines refused before any record is read: nothing to commit
        line_errors = [IngestError(index=bad.line, job_id=None, field=None, message=bad.message)
                       for bad in chunk.bad]
        record_errors: list[IngestError] = []
        if report is not None:
            self.received += report.received
            self.created += report.created
            self.updated += report.updated
            self.unchanged += report.unchanged
            self.superseded += report.superseded
            self.failed += report.failed
            self.teams_created += report.teams_created
            self.errors_omitted += report.errors_omitted
            record_errors = report.errors
        for error in heapq.merge(line_errors, record_errors, key=lambda e: e.index or 0):
            if len(self.errors) < MAX_REPORTED_ERRORS:
                self.errors.append(error)
            else:
                self.errors_omitted += 1

    def report(self) -> IngestReport:
        return IngestReport(received=self.received, created=self.created, updated=self.updated,
                            unchanged=self.unchanged, superseded=self.superseded, failed=self.failed,
                            teams_created=self.teams_created, errors=self.errors, errors_omitted=self.errors_omitted)
