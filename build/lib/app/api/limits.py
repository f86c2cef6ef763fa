"""Request size limits, enforced before the body is read into memory (known fault F31).

A pure ASGI middleware: a declared `Content-Length` over the limit is refused at once; a body sent without one
(chunked) is counted as it streams and refused the moment it passes the limit. Oversized header sections are
refused with 431. Both answers are problem+json.

One exception: an NDJSON body to the ingest route is read line by line, each line capped and each chunk of lines
committed before the next is read (`app.ingestion.ndjson`), so it may be of any size; the header limit still
applies to it. A JSON body to that route keeps the cap.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import PROBLEM_JSON, problem_body
from app.ingestion.ndjson import NDJSON_MEDIA_TYPES

# Routes whose NDJSON bodies are streamed rather than read whole: (method, path) → exempt from the body cap.
STREAMED_ROUTES = frozenset({("POST", "/api/v1/admin/ingest/jobs")})


def _problem(status: int, code: str, title: str, detail: str) -> tuple[dict[str, Any], bytes]:
    body = json.dumps(problem_body(status, code, title, detail)).encode()
    start = {"type": "http.response.start", "status": status,
             "headers": [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode()),
                         (b"connection", b"close")]}
    return start, body


def _is_streamed(scope: Scope) -> bool:
    """True for an NDJSON body sent to one of `STREAMED_ROUTES`."""
    if (scope.get("method"), scope.get("path")) not in STREAMED_ROUTES:
        return False
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return value.decode("latin-1").split(";")[0].strip().lower() in NDJSON_MEDIA_TYPES
    return False


def _human(size: int) -> str:
    return f"{size // (1024 * 1024)} MiB" if size % (1024 * 1024) == 0 else f"{size:,} bytes"


class RequestLimitsMiddleware:
    """Refuse bodies over `max_body_bytes` (413) and header sections over `max_header_bytes` (431); both
    limits come from the settings (`JOBCOST_MAX_BODY_BYTES`, `JOBCOST_MAX_HEADER_BYTES`)."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_header_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_header_bytes = max_header_bytes

    async def _refuse(self, send: Send, status: int, code: str, title: str, detail: str) -> None:
        start, body = _problem(status, code, title, detail)
        await send(start)
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header_bytes = sum(len(name) + len(value) for name, value in scope.get("headers", ()))
        if header_bytes > self.max_header_bytes:
            await self._refuse(send, 431, "headers-too-large", "Request header fields too large",
                               f"Request headers total {header_bytes:,} bytes; the limit is "
                               f"{_human(self.max_header_bytes)}")
            return
        if _is_streamed(scope):
            await self.app(scope, receive, send)
            return
        limit = self.max_body_bytes
        too_large = ("content-too-large", "Content too large", f"The request body is over the limit of {_human(limit)}")
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > limit:
                    await self._refuse(send, 413, *too_large)
                    return

        received = 0
        exceeded = False
        response_started = False

        async def limited_receive() -> Message:
            # Past the limit the app is told the client went away, so it stops reading; its answer to the
            # truncated body is then replaced by the 413 below.
            nonlocal received, exceeded
            if exceeded:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if exceeded and not response_started:
                return
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not exceeded:
                raise
        if exceeded and not response_started:
            await self._refuse(send, 413, *too_large)
