"""Logging: one JSON object per line (or plain text for development), and the request each line belongs to.

`configure_logging(level, fmt)` installs one handler on the root logger, through which uvicorn's own loggers pass
too. A line logged while a request is handled carries that request's `request_id`, `method` and `route`; the
access line written when the request ends (`jobcost.access`) adds `status`, `duration_ms` and `principal`. Fields
of a JSON line: `time` (UTC, RFC 3339 with milliseconds), `level`, `logger`, `message`, then those of the request
when there is one, and `error` (the exception's type and traceback) when one was logged. Nothing here reads a
query string, a header other than `X-Request-ID`, a token or a password: only what callers put in the context.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

# The fields a request contributes to its log lines, in this order.
REQUEST_FIELDS = ("request_id", "method", "route", "status", "duration_ms", "principal")

# The request's log fields, one dict per request, set by the outermost ASGI layer (app.metrics.middleware). A
# mutable dict, so that what a dependency notes (the principal) reaches the access line even from a copied context.
request_context: ContextVar[dict[str, Any] | None] = ContextVar("jobcost_request_context", default=None)

# An `X-Request-ID` is taken as it is when it is 1 to 128 of these characters (a UUID, a ULID, a proxy's
# "req-…" id); anything else is replaced by a fresh id, so a header cannot inject text or bloat every line.
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@+=-]{1,128}")


def request_id_from(header: str | None) -> str:
    """The client's `X-Request-ID` when it is sane (see above), else a new random id (32 hex digits)."""
    if header is not None and _SAFE_REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def note_principal(kind: str, identifier: object) -> None:
    """Record who the current request acts as, `kind:identifier` (`user:<uuid>`, `token:<uuid>`), for its log
    lines: an id, never a token, an e-mail or a name. Outside a request, nothing happens."""
    context = request_context.get()
    if context is not None:
        context["principal"] = f"{kind}:{identifier}"


def _utc_time(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _request_fields(record: logging.LogRecord) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    context = request_context.get() or {}
    for name in REQUEST_FIELDS:
        if context.get(name) is not None:
            fields[name] = context[name]
    return fields


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (newlines in a message or traceback are escaped by JSON)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {"time": _utc_time(record), "level": record.levelname, "logger": record.name,
                                "message": record.getMessage()}
        line.update(_request_fields(record))
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["error"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`time level logger: message key=value …` for a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        text = f"{_utc_time(record)} {record.levelname} {record.name}: {record.getMessage()}"
        extra = " ".join(f"{k}={v}" for k, v in _request_fields(record).items() if k in ("request_id", "principal"))
        if extra:
            text += f" [{extra}]"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


_HANDLER_NAME = "jobcost"
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.asgi")


def configure_logging(level: str, fmt: str, *, stream: TextIO | None = None) -> logging.Handler:
    """Send every log record of this process through one handler on the root logger, formatted as `fmt`
    (`json` or `text`), at `level`; uvicorn's loggers lose their own handlers and pass through it, and uvicorn's
    access log is silenced (it prints query strings: `jobcost.access` replaces it). Calling it again replaces the
    handler. Returns it."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate = False
    access.disabled = True
    return handler
