"""`app.ingestion.ndjson` on its own: splitting a byte stream into lines, decoding each, chunking, adding reports.
No database; expected values are written out by hand."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from decimal import Decimal
from typing import Any

import pytest

from app.ingestion import ndjson
from app.ingestion.ndjson import BadLine, LineChunk, ReportSum, decode_line, read_chunks, split_lines
from app.ingestion.schemas import IngestError, IngestReport


async def stream(pieces: Iterable[bytes]) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece


async def lines_of(pieces: Iterable[bytes], cap: int = 100) -> list[tuple[int, bytes | None]]:
    return [item async for item in split_lines(stream(pieces), cap)]


async def test_lines_split_across_pieces_are_joined() -> None:
    assert await lines_of([b'{"a"', b': 1}\n{"b": 2', b"}\n", b"\n", b"last"]) == [
        (1, b'{"a": 1}'), (2, b'{"b": 2}'), (3, b""), (4, b"last")]


async def test_crlf_keeps_its_carriage_return_for_the_decoder_to_ignore() -> None:
    assert await lines_of([b"x\r\ny\r", b"\n"]) == [(1, b"x\r"), (2, b"y\r")]


@pytest.mark.parametrize(("pieces", "expected"), [
    ([], []), ([b""], []), ([b"\n"], [(1, b"")]), ([b"a\n"], [(1, b"a")]), ([b"a"], [(1, b"a")])])
async def test_empty_bodies_and_final_newlines(pieces: list[bytes], expected: list[Any]) -> None:
    assert await lines_of(pieces) == expected


async def test_a_line_over_the_cap_is_dropped_as_it_arrives_and_the_next_line_is_intact() -> None:
    # Line 2 is 10 pieces of 4 bytes = 40 bytes against a cap of 10; the newline ending it comes in the last piece.
    pieces = [b"ok\n", *[b"xxxx"] * 10, b"\nafter\n"]

    assert await lines_of(pieces, cap=10) == [(1, b"ok"), (2, None), (3, b"after")]


async def test_a_line_at_the_cap_is_kept_and_a_final_long_line_is_refused() -> None:
    assert await lines_of([b"0123456789\n", b"0123456789X"], cap=10) == [(1, b"0123456789"), (2, None)]


def test_decoding_one_line() -> None:
    assert decode_line(1, b" \t\r", 100) is None
    assert decode_line(1, b'{"cost": 0.1, "gpu_count": 8}\r', 100) == {"cost": Decimal("0.1"), "gpu_count": 8}
    assert decode_line(7, None, 1024 * 1024) == BadLine(
        7, "the line is longer than the limit of 1 MiB per line: send one job record (a JSON object) per line, "
           "each line ended by a newline")
    assert decode_line(2, b'{"a": 1, "a": 2}', 100) == BadLine(
        2, "the line is not valid JSON: duplicate key 'a' in an object")
    assert decode_line(3, b'{"a": }', 100) == BadLine(3, "the line is not valid JSON: Expecting value at column 7")
    assert decode_line(4, b'"\xc3"', 100) == BadLine(4, "the line is not valid UTF-8 (byte 2 of the line)")


@pytest.mark.parametrize(("text", "kind"), [
    (b"[]", "an array"), (b'"x"', "a string"), (b"12.5", "a number"), (b"true", "`true`"), (b"null", "`null`")])
def test_a_line_that_is_not_an_object_says_what_it_holds(text: bytes, kind: str) -> None:
    assert decode_line(5, text, 100) == BadLine(5, f"a job must be a JSON object; this line holds {kind}")


async def test_chunks_hold_at_most_the_chunk_size_of_non_blank_lines() -> None:
    body = b'{"n": 1}\n\nbad\n{"n": 4}\n{"n": 5}\n  \n{"n": 7}'

    chunks = [c async for c in read_chunks(stream([body]), chunk_lines=2)]

    # Non-blank lines 1, 3, 4, 5, 7 in chunks of 2: [1, 3], [4, 5], [7].
    assert chunks == [
        LineChunk(records=[{"n": 1}], lines=[1],
                  bad=[BadLine(3, "the line is not valid JSON: Expecting value at column 1")]),
        LineChunk(records=[{"n": 4}, {"n": 5}], lines=[4, 5]),
        LineChunk(records=[{"n": 7}], lines=[7]),
    ]


def _report(received: int, created: int, failed: int, errors: list[IngestError], omitted: int = 0) -> IngestReport:
    return IngestReport(received=received, created=created, updated=0, unchanged=0, superseded=0, failed=failed,
                        teams_created=1, errors=errors, errors_omitted=omitted)


def test_reports_are_added_and_errors_merged_in_line_order() -> None:
    total = ReportSum()
    chunk = LineChunk(records=[{}, {}, {}], lines=[1, 3, 5], bad=[BadLine(2, "b2"), BadLine(6, "b6")])
    total.add(chunk, _report(3, 2, 1, [IngestError(index=3, job_id="j3", field="status", message="m3")]))
    total.add(LineChunk(bad=[BadLine(8, "b8")]), None)

    report = total.report()

    # received: 3 records + 2 bad lines + 1 bad line; failed: 1 + 2 + 1.
    assert (report.received, report.created, report.failed, report.teams_created) == (6, 2, 4, 1)
    assert [(e.index, e.message) for e in report.errors] == [(2, "b2"), (3, "m3"), (6, "b6"), (8, "b8")]
    assert total.last_line == 8


def test_errors_past_1000_are_counted_in_errors_omitted() -> None:
    total = ReportSum()
    service_errors = [IngestError(index=n, job_id=None, field="x", message="m") for n in range(1, 1000)]
    total.add(LineChunk(records=[{}] * 999, lines=list(range(1, 1000))), _report(999, 0, 999, service_errors, 4))
    total.add(LineChunk(bad=[BadLine(1000, "b"), BadLine(1001, "b"), BadLine(1002, "b")]), None)

    report = total.report()

    # 999 listed by the service (4 more omitted by it), then room for 1 of the 3 bad lines: 4 + 2 omitted.
    assert len(report.errors) == 1000
    assert report.errors[-1].index == 1000
    assert report.errors_omitted == 6


async def test_a_chunk_also_ends_at_its_byte_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    # Lines that decode to large objects must not pile up 5,000 at a time: the chunk ends at CHUNK_BYTES of text.
    monkeypatch.setattr(ndjson, "CHUNK_BYTES", 100)
    line = b'{"job_id": "' + b"x" * 40 + b'"}\n'  # 55 bytes with its newline, 54 without
    sizes = [len(chunk) async for chunk in read_chunks(stream([line * 5]), chunk_lines=1_000)]
    assert sizes == [2, 2, 1]  # 54 + 54 ≥ 100 ends a chunk
