"""Every error as `application/problem+json` (RFC 9457): `{type, title, status, detail}`, plus `errors` for 422.

Validation errors list `{loc, msg, type}` only: the submitted values (`input`) and pydantic's `ctx`/`url` are
dropped, so a password or a token sent in the wrong field is never echoed back. Unexpected exceptions become a
bare 500 problem; the traceback goes to the log, never to the client.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.errors import AppError, DatabaseBusyError, DatabaseUnavailableError
from app.metrics.middleware import PROBLEM_CODE_STATE
from app.metrics.registry import DB_POOL_TIMEOUTS

logger = logging.getLogger("jobcost.errors")

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://jobcost.dev/problems/"


class ValidationItem(BaseModel):
    loc: list[str | int] = Field(examples=[["query", "limit"]])
    msg: str = Field(examples=["Input should be less than or equal to 100"])
    type: str = Field(examples=["less_than_equal"])


class Problem(BaseModel):
    """An RFC 9457 problem document. `type` ends with a stable code clients can branch on."""

    type: str = Field(description="URI whose last segment is the error code")
    title: str = Field(description="Short summary of the kind of error")
    status: int = Field(description="The HTTP status code")
    detail: str = Field(description="What went wrong with this request")
    errors: list[ValidationItem] | None = Field(
        default=None, description="422 and 400 only: each offending field (`loc`), why (`msg`) and a code (`type`)")


# One realistic body per status for the OpenAPI page (the texts are those the handlers send).
def _examples() -> dict[int, dict[str, Any]]:
    return {
        400: problem_body(400, "malformed-json", "Malformed JSON", "The request body is not valid JSON",
                          errors=[{"loc": ["body", 1], "msg": "JSON decode error", "type": "json_invalid"}]),
        401: problem_body(401, "not-authenticated", "Not authenticated", "Invalid or expired bearer token"),
        403: problem_body(403, "forbidden", "Forbidden", "This operation needs the admin role"),
        404: problem_body(404, "not-found", "Not found", "Not Found"),
        413: problem_body(413, "content-too-large", "Content too large",
                          "The request body is over the limit of 16 MiB"),
        415: problem_body(415, "unsupported-media-type", "Unsupported media type",
                          'Send the batch as application/json: {"jobs": [...]}'),
        422: problem_body(422, "validation-error", "Validation error", "Invalid request: body.password",
                          errors=[{"loc": ["body", "password"], "msg": "Field required", "type": "missing"}]),
        503: problem_body(503, "database-unavailable", "Service unavailable",
                          "The database is unreachable; try again shortly"),
    }


def problem_body(status: int, code: str, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    """The problem document itself; members of `extra` that are None are left out."""
    body: dict[str, Any] = {"type": TYPE_BASE + code, "title": title, "status": status, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def problem_response(status: int, code: str, title: str, detail: str, *,
                     headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    return JSONResponse(problem_body(status, code, title, detail, **extra), status_code=status,
                        media_type=PROBLEM_JSON, headers=headers)


def _clean_errors(errors: list[Any]) -> list[dict[str, Any]]:
    cleaned = []
    for error in errors:
        cleaned.append({
            "loc": [part if isinstance(part, int) else str(part) for part in error.get("loc", ())],
            "msg": str(error.get("msg", "")),
            "type": str(error.get("type", "")),
        })
    return cleaned


def _validation_problem(errors: list[dict[str, Any]]) -> JSONResponse:
    if any(e["type"] == "json_invalid" for e in errors):
        return problem_response(400, "malformed-json", "Malformed JSON", "The request body is not valid JSON",
                                errors=errors)
    fields = ", ".join(dict.fromkeys(".".join(str(p) for p in e["loc"]) for e in errors))
    return problem_response(422, "validation-error", "Validation error",
                            f"Invalid request: {fields}" if fields else "Invalid request", errors=errors)


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, AppError):  # registered for this type only
        raise exc
    setattr(request.state, PROBLEM_CODE_STATE, exc.code)  # the cause of a 503 in /metrics
    return problem_response(exc.status, exc.code, exc.title, exc.detail, headers=exc.headers or None, **exc.extra)


async def _request_validation(_: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, RequestValidationError):  # registered for this type only
        raise exc
    return _validation_problem(_clean_errors(list(exc.errors())))


async def _pydantic_validation(request: Request, exc: Exception) -> JSONResponse:
    # A model validated inside a dependency (e.g. a cross-field check in `Depends(Model)`) raises pydantic's
    # ValidationError outside FastAPI's request validation; it is the client's input. Logged with the model's
    # name as a warning, because a server-side `model_validate` bug would land here too.
    if not isinstance(exc, ValidationError):  # registered for this type only
        raise exc
    logger.warning("%s validation failed outside request parsing on %s %s", exc.title, request.method,
                   request.url.path)
    return _validation_problem(_clean_errors(list(exc.errors())))


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, StarletteHTTPException):  # registered for this type only
        raise exc
    try:
        phrase = HTTPStatus(exc.status_code).phrase
        title = phrase[0] + phrase[1:].lower()
    except ValueError:
        title = "Error"
    code = title.lower().replace(" ", "-")
    detail = exc.detail if isinstance(exc.detail, str) else title
    return problem_response(exc.status_code, code, title, detail, headers=getattr(exc, "headers", None))


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    if _is_sqlite_lock_timeout(exc):
        # Another write held SQLite's write lock for longer than the busy timeout: busy, not down.
        logger.warning("database busy on %s %s: a write waited past the busy timeout", request.method,
                       request.url.path)
        return await _app_error(request, DatabaseBusyError())
    logger.error("database unavailable on %s %s: %s", request.method, request.url.path, type(exc).__name__)
    if any(isinstance(item, sa_exc.TimeoutError) for item in _chain(exc)):
        DB_POOL_TIMEOUTS.inc()
    return await _app_error(request, DatabaseUnavailableError())


def _is_sqlite_lock_timeout(exc: Exception) -> bool:
    return isinstance(exc, sa_exc.OperationalError) and "database is locked" in str(getattr(exc, "orig", exc))


# "The database is not there right now", by exception class and SQLSTATE, never by message text:
# - SQLSTATE class 08 (connection exception: asyncpg's ConnectionDoesNotExistError, "connection was closed in the
#   middle of operation", is 08003) and 57P (operator intervention: 57P01 admin shutdown, 57P02 crash shutdown,
#   57P03 cannot connect now, while the server shuts down or starts up; 57P04 database dropped), and 53300 (too
#   many connections: every slot taken, as after a restart when all clients reconnect at once). asyncpg's
#   PostgresError reaches us as a plain `DBAPIError`, its SQLSTATE on `.orig.sqlstate`;
# - the SQLAlchemy wrappers of a lost or unobtainable connection: OperationalError, InterfaceError ("connection
#   is closed"), a pool TimeoutError, and any DBAPIError SQLAlchemy itself flagged `connection_invalidated`;
# - asyncpg's InternalClientError family (e.g. "cannot switch to state 12; another operation is in progress",
#   left by an operation the lost connection cut short), whatever wraps it;
# - the socket's own errors before any driver wraps them: refused, reset, timed out, name not resolved.
_UNAVAILABLE_SQLSTATE_PREFIXES = ("08", "57P", "53300")
_UNAVAILABLE_WRAPPERS = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)
_UNAVAILABLE_OS_ERRORS = (ConnectionError, TimeoutError, socket.gaierror)


def _driver_unavailable_types() -> tuple[type[BaseException], ...]:
    try:
        import asyncpg
    except ImportError:  # pragma: no cover - asyncpg is a dependency; a SQLite-only install may lack it
        return ()
    return (asyncpg.exceptions.InternalClientError, asyncpg.exceptions.ConnectionDoesNotExistError)


_DRIVER_UNAVAILABLE = _driver_unavailable_types()


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc`, the driver exception it wraps, and those it was raised from or while handling (a cleanup that
    failed on the dead connection raises its own error over the first one), each once."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo and len(seen) < 32:
        item = todo.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        todo.extend((item.__context__, item.__cause__, getattr(item, "orig", None)))


def _sqlstate(exc: BaseException) -> str | None:
    state = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    return state if isinstance(state, str) else None


def is_database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` (or what it wraps or interrupted) means the database is not there right now: a 503 with
    `Retry-After`, which a client may retry, rather than a 500. See the list above."""
    for item in _chain(exc):
        if isinstance(item, _UNAVAILABLE_WRAPPERS + _UNAVAILABLE_OS_ERRORS + _DRIVER_UNAVAILABLE):
            return True
        if isinstance(item, sa_exc.DBAPIError) and item.connection_invalidated:
            return True
        if (state := _sqlstate(item)) is not None and state.startswith(_UNAVAILABLE_SQLSTATE_PREFIXES):
            return True
    return False


# SQLSTATEs of a transaction that lost to a concurrent one (deadlock, serialization failure): retrying succeeds.
_RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    if is_database_unavailable(exc):
        return await _database_unavailable(request, exc)
    orig = getattr(exc, "orig", None)
    if (getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)) in _RETRYABLE_SQLSTATES:
        logger.warning("concurrent write conflict on %s %s: %s", request.method, request.url.path,
                       type(orig).__name__)
        return await _app_error(request, DatabaseBusyError(
            "This write conflicted with a concurrent one and was rolled back; send it again"))
    return await _unexpected(request, exc)


async def _unstorable_value(request: Request, exc: Exception) -> JSONResponse:
    # The database refused a value the request carried (e.g. a NUL character in PostgreSQL text): the client's
    # input, so a 422; logged as a warning in case a server bug ever lands here.
    logger.warning("database refused a value on %s %s: %s", request.method, request.url.path,
                   type(getattr(exc, "orig", exc)).__name__)
    return problem_response(422, "unstorable-value", "Validation error",
                            "The request contains a value the database cannot store (such as a NUL character)")


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    if is_database_unavailable(exc):  # e.g. a driver error raised bare, or a cleanup's error over a lost connection
        return await _database_unavailable(request, exc)
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(500, "internal-error", "Internal server error",
                            "The server failed to handle this request; it has been logged")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(ValidationError, _pydantic_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(sa_exc.DBAPIError, _database_error)
    app.add_exception_handler(sa_exc.DataError, _unstorable_value)
    for db_error in (*_UNAVAILABLE_WRAPPERS, *_UNAVAILABLE_OS_ERRORS, *_DRIVER_UNAVAILABLE):
        app.add_exception_handler(db_error, _database_unavailable)
    app.add_exception_handler(Exception, _unexpected)
    _document_problems_as_problem_json(app)


def _document_problems_as_problem_json(app: FastAPI) -> None:
    # FastAPI files a `responses={...: {"model": ...}}` schema under the route's media type (application/json),
    # so `error_responses` alone would document errors as JSON with an empty problem+json entry beside them.
    # Move each such schema to application/problem+json, the type the handlers above actually send.
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                for response in operation.get("responses", {}).values():
                    content = response.get("content", {})
                    if PROBLEM_JSON in content and "application/json" in content:
                        content[PROBLEM_JSON] = {**content.pop("application/json"), **content[PROBLEM_JSON]}
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def error_responses(*statuses: int, descriptions: dict[int, str] | None = None,
                    examples: dict[int, dict[str, Any]] | None = None) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting problem+json bodies for `statuses`; `descriptions` and `examples`
    override the generic sentence and body of a status where a route means something more specific."""
    generic = {
        400: "Malformed request body",
        401: "Missing, malformed, expired or forged bearer token",
        403: "Authenticated, but the role or team does not allow this",
        404: "Not found, or not visible to the caller",
        409: "Conflicts with existing data",
        413: "Request body over the documented limit",
        415: "Unsupported request body media type",
        422: "Invalid parameters or body; `errors` lists each field and why",
        503: "The database is unreachable",
    }
    return {
        s: {"model": Problem, "description": {**generic, **(descriptions or {})}.get(s, "Error"),
            "content": {PROBLEM_JSON: {"example": ex} if (ex := {**_examples(), **(examples or {})}.get(s)) else {}}}
        for s in statuses
    }
