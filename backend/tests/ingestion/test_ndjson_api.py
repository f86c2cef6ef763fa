"""`POST /admin/ingest/jobs` with an NDJSON body: one job per line, read as it streams, committed chunk by chunk.

Expected reports are worked out by hand, line by line, in each test (DESIGN.md "API v1": for NDJSON bodies
`index` is the 1-based line number). The chunk size and the per-line cap are patched small so that a few lines
cross chunk boundaries; the stored jobs are read back from the database in a session of their own.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.api.limits import STREAMED_ROUTES
from app.db.models import Job
from app.ingestion import ndjson
from app.ingestion.service import JobIngestionService
from app.main import create_app
from tests.api.problems import assert_problem, assert_unauthenticated
from tests.ingestion.conftest import INGEST, job

NDJSON = {"Content-Type": "application/x-ndjson"}
Sessions = async_sessionmaker[AsyncSession]


def line(record: Any) -> str:
    return json.dumps(record)


def body_of(*lines: str, end: str = "\n") -> bytes:
    return "".join(text + end for text in lines).encode()


async def post_ndjson(client: httpx.AsyncClient, headers: dict[str, str], body: bytes | AsyncIterator[bytes],
                      content_type: str = "application/x-ndjson") -> httpx.Response:
    return await client.post(INGEST, content=body, headers={**headers, "Content-Type": content_type})


async def report_of(client: httpx.AsyncClient, headers: dict[str, str], body: bytes | AsyncIterator[bytes],
                    content_type: str = "application/x-ndjson") -> dict[str, Any]:
    response = await post_ndjson(client, headers, body, content_type)
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["created"] + report["updated"] + report["unchanged"] + report["superseded"]
            + report["failed"]) == report["received"], report
    return report


def counts(report: dict[str, Any]) -> tuple[int, ...]:
    """(received, created, updated, unchanged, superseded, failed)"""
    return tuple(report[k] for k in ("received", "created", "updated", "unchanged", "superseded", "failed"))


def error_keys(report: dict[str, Any]) -> list[tuple[Any, Any, Any]]:
    return [(e["index"], e["job_id"], e["field"]) for e in report["errors"]]


async def stored(sessionmaker: Sessions) -> dict[str, Job]:
    async with sessionmaker() as session:
        return {j.job_id: j for j in (await session.execute(select(Job))).scalars()}


async def job_count(sessionmaker: Sessions) -> int:
    async with sessionmaker() as session:
        return (await session.execute(select(func.count()).select_from(Job))).scalar_one()


@pytest.fixture
def service_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, list[int]]]:
    """Every call of the ingestion service: (number of records, their line numbers)."""
    calls: list[tuple[int, list[int]]] = []
    original = JobIngestionService.ingest

    async def spy(self: JobIngestionService, records: Any, *, indexes: Any = None) -> Any:
        calls.append((len(records), list(indexes or [])))
        return await original(self, records, indexes=indexes)

    monkeypatch.setattr(JobIngestionService, "ingest", spy)
    return calls


# --- a body of several chunks ---

async def test_a_body_of_several_chunks_is_reported_by_line_number(
        client, admin_headers, sessionmaker, service_calls, monkeypatch) -> None:
    monkeypatch.setattr(ndjson, "CHUNK_LINES", 3)
    body = body_of(
        line(job("nd-1")),                                     # 1  chunk 1: created
        "",                                                    # 2  blank: skipped, not counted
        "{not json",                                           # 3  chunk 1: failed, not JSON
        line(job("nd-2", ended_at="2026-01-14T07:00:00Z")),    # 4  chunk 1: failed, ends before it starts
        "[1, 2]",                                              # 5  chunk 2: failed, not an object
        line(job("nd-3")),                                     # 6  chunk 2: created
        line(job("nd-1", model_name="changed")),               # 7  chunk 2: updated (nd-1 committed in chunk 1)
        "   \t",                                               # 8  blank
        line(job("nd-4", cost="1.00")),                        # 9  chunk 3: superseded by line 10
        line(job("nd-4", cost="2.00")),                        # 10 chunk 3: created
        line(job("nd-5", status="bogus")),                     # 11 chunk 3: failed, status
    ) + line(job("nd-6")).encode()                             # 12 chunk 4, no final newline: created

    report = await report_of(client, admin_headers, body)

    # 10 non-blank lines; created nd-1, nd-3, nd-4, nd-6; updated nd-1; superseded line 9; failed 3, 4, 5, 11.
    assert counts(report) == (10, 4, 1, 0, 1, 4)
    assert report["teams_created"] == 1
    assert error_keys(report) == [(3, None, None), (4, "nd-2", "ended_at"), (5, None, None), (11, "nd-5", "status")]
    assert report["errors"][0]["message"].startswith("the line is not valid JSON")
    assert report["errors"][2]["message"] == "a job must be a JSON object; this line holds an array"
    assert report["errors_omitted"] == 0
    # Chunks of 3 non-blank lines; the bad lines 3 and 5 never reach the service, which never holds more than 3.
    assert service_calls == [(2, [1, 4]), (2, [6, 7]), (3, [9, 10, 11]), (1, [12])]
    jobs = await stored(sessionmaker)
    assert sorted(jobs) == ["nd-1", "nd-3", "nd-4", "nd-6"]
    assert jobs["nd-1"].model_name == "changed"
    assert jobs["nd-4"].billed_cost == Decimal("2.00")


async def test_line_numbers_stay_right_across_chunk_boundaries(
        client, admin_headers, service_calls, monkeypatch) -> None:
    monkeypatch.setattr(ndjson, "CHUNK_LINES", 2)
    # Every third line is bad (ends before it starts), so bad records sit first, last and alone in chunks.
    lines = [line(job(f"edge-{n}", **({"ended_at": "2026-01-14T07:00:00Z"} if n % 3 == 0 else {})))
             for n in range(1, 10)]

    report = await report_of(client, admin_headers, body_of(*lines))

    assert counts(report) == (9, 6, 0, 0, 0, 3)
    assert error_keys(report) == [(3, "edge-3", "ended_at"), (6, "edge-6", "ended_at"), (9, "edge-9", "ended_at")]
    assert service_calls == [(2, [1, 2]), (2, [3, 4]), (2, [5, 6]), (2, [7, 8]), (1, [9])]


async def test_sending_the_same_body_again_changes_nothing(client, admin_headers, monkeypatch) -> None:
    monkeypatch.setattr(ndjson, "CHUNK_LINES", 2)
    body = body_of(*(line(job(f"again-{n}", team=f"team-{n % 2}")) for n in range(5)))

    first = await report_of(client, admin_headers, body)
    second = await report_of(client, admin_headers, body)

    assert counts(first) == (5, 5, 0, 0, 0, 0)
    assert first["teams_created"] == 2
    assert counts(second) == (5, 0, 0, 5, 0, 0)
    assert second["teams_created"] == 0


async def test_an_empty_body_receives_nothing(client, admin_headers, service_calls) -> None:
    for body in (b"", b"\n\n  \r\n"):
        report = await report_of(client, admin_headers, body)

        assert counts(report) == (0, 0, 0, 0, 0, 0)
        assert report["errors"] == [] and report["teams_created"] == 0
    assert service_calls == []


# --- line endings, encodings, long lines ---

async def test_crlf_line_ends_and_a_charset_parameter_are_read(client, admin_headers, sessionmaker) -> None:
    body = body_of(line(job("crlf-1")), "", line(job("crlf-2")), end="\r\n")

    report = await report_of(client, admin_headers, body, "application/x-ndjson; charset=utf-8")

    assert counts(report) == (2, 2, 0, 0, 0, 0)
    assert sorted(await stored(sessionmaker)) == ["crlf-1", "crlf-2"]


@pytest.mark.parametrize("media_type", ["application/ndjson", "application/jsonl", "application/x-jsonlines"])
async def test_the_other_ndjson_media_types_are_read_alike(client, admin_headers, media_type: str) -> None:
    report = await report_of(client, admin_headers, body_of(line(job("alias-1"))), media_type)

    assert counts(report) == (1, 1, 0, 0, 0, 0)


async def test_a_line_that_is_not_utf8_fails_alone(client, admin_headers, sessionmaker) -> None:
    bad = b'{"job_id": "\xff"}'  # 0xFF is the 13th byte: `{"job_id": "` is 12
    body = body_of(line(job("utf-1"))) + bad + b"\n" + body_of(line(job("utf-3", team="Équipe")))

    report = await report_of(client, admin_headers, body)

    assert counts(report) == (3, 2, 0, 0, 0, 1)
    assert report["errors"] == [{"index": 2, "job_id": None, "field": None,
                                 "message": "the line is not valid UTF-8 (byte 13 of the line)"}]
    assert sorted(await stored(sessionmaker)) == ["utf-1", "utf-3"]


async def test_a_line_over_the_cap_fails_alone_and_names_the_cap(client, admin_headers, sessionmaker) -> None:
    # The real cap, 1 MiB: line 2 is a record padded to 1,100,000 bytes.
    long_line = line(job("long-2", labels={"pad": "x" * 1_100_000}))
    body = body_of(line(job("long-1")), long_line, line(job("long-3")))

    report = await report_of(client, admin_headers, body)

    assert counts(report) == (3, 2, 0, 0, 0, 1)
    (error,) = report["errors"]
    assert (error["index"], error["job_id"], error["field"]) == (2, None, None)
    assert "longer than the limit of 1 MiB per line" in error["message"]
    assert sorted(await stored(sessionmaker)) == ["long-1", "long-3"]


async def test_a_line_exactly_at_the_cap_is_read(client, admin_headers, monkeypatch) -> None:
    record = line(job("cap-1"))
    monkeypatch.setattr(ndjson, "MAX_LINE_BYTES", len(record))

    report = await report_of(client, admin_headers, body_of(record, record + " "))

    # Line 1 is exactly the cap; line 2 is one byte over it.
    assert counts(report) == (2, 1, 0, 0, 0, 1)
    assert report["errors"][0]["index"] == 2
    assert f"longer than the limit of {len(record):,} bytes per line" in report["errors"][0]["message"]


async def test_a_body_streamed_in_small_pieces_without_a_length_is_read_whole(
        client, admin_headers, sessionmaker) -> None:
    body = body_of(*(line(job(f"stream-{n}", team="Équipe")) for n in range(20)), "oops") + b"\r\n"
    sizes: list[int] = []

    async def pieces() -> AsyncIterator[bytes]:
        # 7-byte pieces: lines and the two bytes of "É" are split between pieces.
        for start in range(0, len(body), 7):
            sizes.append(len(body[start:start + 7]))
            yield body[start:start + 7]

    report = await report_of(client, admin_headers, pieces())

    assert sum(sizes) == len(body) and len(sizes) > 100
    assert counts(report) == (21, 20, 0, 0, 0, 1)
    assert error_keys(report) == [(21, None, None)]
    jobs = await stored(sessionmaker)
    assert len(jobs) == 20
    assert {j.team_id for j in jobs.values()} == {jobs["stream-0"].team_id}


async def test_errors_past_1000_are_counted_not_listed(client, admin_headers, service_calls, monkeypatch) -> None:
    monkeypatch.setattr(ndjson, "CHUNK_LINES", 300)
    body = body_of(*["not json"] * 1005)

    report = await report_of(client, admin_headers, body)

    assert counts(report) == (1005, 0, 0, 0, 0, 1005)
    assert len(report["errors"]) == 1000
    assert [e["index"] for e in report["errors"]] == list(range(1, 1001))
    assert report["errors_omitted"] == 5
    assert service_calls == []


# --- limits ---

@pytest.fixture
async def small_limit_client(settings, sessionmaker) -> AsyncIterator[httpx.AsyncClient]:
    """The app with a 4,096-byte body limit, on the test's database."""
    application = create_app(settings.model_copy(update={"max_body_bytes": 4096}))
    application.state.sessionmaker = sessionmaker
    transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def test_ndjson_goes_past_the_body_limit_that_json_keeps(
        small_limit_client, admin_headers, sessionmaker) -> None:
    jobs = [job(f"big-{n:03d}") for n in range(40)]
    as_json = json.dumps({"jobs": jobs}).encode()
    as_ndjson = body_of(*(line(j) for j in jobs))
    assert len(as_json) > 4096 and len(as_ndjson) > 4096

    refused = await small_limit_client.post(INGEST, content=as_json,
                                            headers={**admin_headers, "Content-Type": "application/json"})
    problem = assert_problem(refused, 413, "content-too-large")
    assert "4,096 bytes" in problem["detail"]
    assert await job_count(sessionmaker) == 0

    report = await report_of(small_limit_client, admin_headers, as_ndjson)
    assert counts(report) == (40, 40, 0, 0, 0, 0)
    assert await job_count(sessionmaker) == 40


async def test_the_exempt_route_is_the_ingest_route(app) -> None:
    routes = {(method.upper(), path) for path, operations in app.openapi()["paths"].items()
              for method in operations}
    assert STREAMED_ROUTES <= routes


async def test_other_media_types_are_still_415(client, admin_headers) -> None:
    response = await post_ndjson(client, admin_headers, body_of(line(job("seq-1"))), "application/json-seq")

    problem = assert_problem(response, 415, "unsupported-media-type")
    assert "application/x-ndjson" in problem["detail"]


async def test_an_ndjson_body_needs_a_token(client, sessionmaker) -> None:
    response = await post_ndjson(client, {}, body_of(line(job("anon-1"))))

    assert_unauthenticated(response)
    assert await job_count(sessionmaker) == 0


# --- a client that goes away midway ---

async def test_a_client_that_disconnects_keeps_the_chunks_already_committed(
        app, admin_headers, sessionmaker, monkeypatch) -> None:
    monkeypatch.setattr(ndjson, "CHUNK_LINES", 2)
    pieces = [body_of(line(job("cut-1")), line(job("cut-2"))),  # chunk 1: committed
              body_of(line(job("cut-3")))]                       # half of chunk 2: never stored
    messages = [{"type": "http.request", "body": piece, "more_body": True} for piece in pieces]
    messages.append({"type": "http.disconnect"})
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [(b"content-type", b"application/x-ndjson"),
               (b"authorization", admin_headers["Authorization"].encode())]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": INGEST, "raw_path": INGEST.encode(), "root_path": "", "query_string": b"", "headers": headers,
             "client": ("127.0.0.1", 50000), "server": ("testserver", 80)}

    await app(scope, receive, send)

    assert sent[0]["status"] == 400
    detail = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))["detail"]
    assert "lines 1 to 2 (2 non-blank) were committed" in detail
    assert sorted(await stored(sessionmaker)) == ["cut-1", "cut-2"]


async def test_the_openapi_document_shows_the_ndjson_body(app) -> None:
    body = app.openapi()["paths"][INGEST]["post"]["requestBody"]

    assert set(body["content"]) == {"application/json", "application/x-ndjson"}
    example = body["content"]["application/x-ndjson"]["example"]
    records = [json.loads(text) for text in example.splitlines()]
    assert [r["job_id"] for r in records] == ["slurm-a:12345_7", "ft-0042"]
    assert "line number" in body["content"]["application/x-ndjson"]["schema"]["description"]


async def test_an_ingest_token_revoked_mid_stream_is_refused_from_the_next_chunk(
        client, sessionmaker, settings, monkeypatch) -> None:
    # A stream has no end of its own: a stolen token's open stream must stop once the token is revoked.
    from app.auth.api_tokens import ApiTokenService
    from tests.factories import create_ingest_token, token_headers

    monkeypatch.setattr(ndjson, "CHUNK_LINES", 2)
    issued = await create_ingest_token(sessionmaker, settings)

    async def body() -> AsyncIterator[bytes]:
        yield body_of(line(job("rv-1")), line(job("rv-2")))
        yield body_of(line(job("rv-3")))  # the reader hands over chunk 1 only once it sees line 3 begin
        async with sessionmaker() as session:
            await ApiTokenService(session, settings).revoke(issued.record.id)
            await session.commit()
        yield body_of(line(job("rv-4")), line(job("rv-5")))

    response = await client.post(INGEST, content=body(), headers={**NDJSON, **token_headers(issued.token)})

    assert_unauthenticated(response)
    assert "revoked" in response.json()["detail"]
    async with sessionmaker() as session:
        stored = set((await session.execute(select(Job.job_id).where(Job.job_id.like("rv-%")))).scalars())
    assert stored == {"rv-1", "rv-2"}  # the chunk committed before the revocation stays; nothing after it
