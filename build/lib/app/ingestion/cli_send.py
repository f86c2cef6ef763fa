"""How `jobcost ingest` sends: job records as NDJSON requests to `POST /api/v1/admin/ingest/jobs`, and the
service's reports added up, each refusal's `index` (line within its request) mapped back to the source file's line.

A request the service refuses as a whole (401, 403, 413, 5xx, …) or that cannot reach it raises ServiceError,
whose message says which and why.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from app.ingestion.cli_options import Source
from app.ingestion.importers import MappedRow, Tally

INGEST_PATH = "/api/v1/admin/ingest/jobs"
ERRORS_SHOWN = 20


@asynccontextmanager
async def open_client(url: str, request_timeout_s: float) -> AsyncIterator[httpx.AsyncClient]:
    """The HTTP client requests go through (tests replace this to reach an app in the same process)."""
    async with httpx.AsyncClient(base_url=url, timeout=request_timeout_s) as client:
        yield client


class ServiceError(Exception):
    """The service refused a request or could not be reached; the message says which and why."""


def _json_default(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def json_line(record: dict[str, Any], separators: tuple[str, str] = (",", ":")) -> str:
    """`record` as one line of JSON: UTF-8 text as it is, except that a record holding a lone surrogate (which
    UTF-8 cannot carry) is written with `\\u` escapes, so the service refuses that one record, not the request."""
    text = json.dumps(record, ensure_ascii=False, separators=separators, default=_json_default)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(record, ensure_ascii=True, separators=separators, default=_json_default)
    return text


def ndjson_body(rows: list[MappedRow]) -> bytes:
    """The records of `rows` as an NDJSON body, one per line, UTF-8."""
    return "".join(json_line(row.record) + "\n" for row in rows).encode("utf-8")


@dataclass
class Refusal:
    """One record refused, by the service or by `--dry-run`: its source line, job id, field and why."""

    line: int | None
    job_id: str | None
    field: str | None
    message: str


@dataclass
class Totals:
    """What the service said about everything sent so far."""

    requests: int = 0
    sent: int = 0
    received: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    superseded: int = 0
    failed: int = 0
    teams_created: int = 0
    refusals: list[Refusal] = field(default_factory=list)
    refusals_omitted: int = 0
    last_line: int = 0

    def add(self, rows: list[MappedRow], report: dict[str, Any]) -> None:
        """Add one request's report; its errors' `index` (line within the request) is mapped to the file's line."""
        self.requests += 1
        self.sent += len(rows)
        self.last_line = rows[-1].line
        for key in ("received", "created", "updated", "unchanged", "superseded", "failed", "teams_created"):
            setattr(self, key, getattr(self, key) + int(report.get(key, 0)))
        self.refusals_omitted += int(report.get("errors_omitted", 0))
        for error in report.get("errors", []):
            index = error.get("index")
            line = rows[index - 1].line if isinstance(index, int) and 1 <= index <= len(rows) else None
            if len(self.refusals) < ERRORS_SHOWN:
                self.refusals.append(Refusal(line, error.get("job_id"), error.get("field"), error.get("message", "")))
            else:
                self.refusals_omitted += 1


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200].strip() or response.reason_phrase
    return str(body.get("detail") or body) if isinstance(body, dict) else str(body)[:200]


def _http_problem(response: httpx.Response) -> str:
    status, detail = response.status_code, _detail(response)
    hint = {
        401: "the token was refused (unknown, expired or revoked): create a new one",
        403: "this token may not ingest: use an ingest token (jobcost tokens create --scope ingest) or an admin's",
        404: f"no ingest endpoint there: is --url the service's root (without {INGEST_PATH.rsplit('/admin', 1)[0]})?",
        413: "the request was too large: try a smaller --chunk-size",
    }.get(status)
    if hint is None and status >= 500:
        retry = response.headers.get("retry-after")
        hint = "the service failed" + (f"; it asks to retry after {retry} s" if retry else "")
    return f"HTTP {status} from the service: {hint or 'unexpected answer'} ({detail})"


async def post_chunk(client: httpx.AsyncClient, token: str, rows: list[MappedRow]) -> dict[str, Any]:
    """POST `rows` as one NDJSON request and return the service's report. Raises ServiceError."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}
    try:
        response = await client.post(INGEST_PATH, content=ndjson_body(rows), headers=headers)
    except httpx.TimeoutException as exc:
        raise ServiceError(f"no answer from {client.base_url} within the timeout ({type(exc).__name__}): "
                           "the request's jobs may be stored or not; try a larger --timeout") from None
    except httpx.HTTPError as exc:
        raise ServiceError(f"cannot reach the service at {client.base_url}: {exc or type(exc).__name__}") from None
    if response.status_code != 200:
        raise ServiceError(_http_problem(response))
    try:
        return response.json()
    except ValueError:
        raise ServiceError(f"the service answered 200 with a body that is not JSON ({response.text[:100]!r})") from None


@dataclass
class Run:
    """One run of the command: the importer's account, and what was sent."""

    source: Source
    format: str
    tally: Tally = field(default_factory=Tally)
    totals: Totals = field(default_factory=Totals)


def _chunks(rows: Iterator[MappedRow], size: int) -> Iterator[list[MappedRow]]:
    chunk: list[MappedRow] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def send_all(run: Run, rows: Iterator[MappedRow], *, url: str, token: str, chunk_size: int,
                   request_timeout_s: float, on_progress: Callable[[], None] = lambda: None) -> None:
    """Send `rows` in chunks of `chunk_size`, adding each report to `run.totals`; `on_progress()` is called before
    and after each request (the progress bar reads `run`). Raises ServiceError."""
    async with open_client(url.rstrip("/"), request_timeout_s) as client:
        for chunk in _chunks(rows, chunk_size):
            on_progress()
            report = await post_chunk(client, token, chunk)
            run.totals.add(chunk, report)
            on_progress()
