"""The application's error family. Services raise these; `api/errors.py` renders them as problem+json."""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """An error meant for the client: an HTTP status, a stable machine code and a human sentence.

    `code` becomes the last segment of the problem `type` URI, so clients can branch on it.
    """

    status: int = 400
    code: str = "bad-request"
    title: str = "Bad request"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra


class NotAuthenticatedError(AppError):
    """401: no credentials, or credentials that do not prove who the caller is."""

    status = 401
    code = "not-authenticated"
    title = "Not authenticated"

    def __init__(self, detail: str = "Missing or invalid bearer token", **extra: Any) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"}, **extra)


class InvalidCredentialsError(NotAuthenticatedError):
    code = "invalid-credentials"
    title = "Invalid credentials"

    def __init__(self) -> None:
        super().__init__("Incorrect email or password")


class ForbiddenError(AppError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class NotFoundError(AppError):
    status = 404
    code = "not-found"
    title = "Not found"


class JobNotFoundError(NotFoundError):
    """404 for an external job id, echoed in `detail` (cut to 100 characters: the path is the client's, but the
    answer need not be as long)."""

    def __init__(self, job_id: str) -> None:
        shown = job_id if len(job_id) <= 100 else job_id[:100] + "…"
        super().__init__(f"No job with job_id {shown!r}")


class ConflictError(AppError):
    status = 409
    code = "conflict"
    title = "Conflict"


class ContentTooLargeError(AppError):
    """413: the request is over a documented limit; `detail` names the limit."""

    status = 413
    code = "content-too-large"
    title = "Content too large"


class UnsupportedMediaTypeError(AppError):
    """415: the body's Content-Type is not one the endpoint reads."""

    status = 415
    code = "unsupported-media-type"
    title = "Unsupported media type"


class UnprocessableError(AppError):
    """422 raised by a service for a rule it checks itself (FastAPI's own validation has its own handler)."""

    status = 422
    code = "validation-error"
    title = "Validation error"


class ServiceUnavailableError(AppError):
    status = 503
    code = "service-unavailable"
    title = "Service unavailable"


class DatabaseUnavailableError(ServiceUnavailableError):
    """503: the database did not answer. Clients may retry after `Retry-After` seconds."""

    code = "database-unavailable"

    def __init__(self, detail: str = "The database is unreachable; try again shortly") -> None:
        super().__init__(detail, headers={"Retry-After": "5"})


class DatabaseBusyError(ServiceUnavailableError):
    """503: the database is up but another write held it for longer than this request could wait (SQLite's busy
    timeout). Retrying after `Retry-After` seconds usually succeeds."""

    code = "database-busy"

    def __init__(self, detail: str = "The database is busy with another write; try again shortly") -> None:
        super().__init__(detail, headers={"Retry-After": "10"})


class TooManyRequestsError(AppError):
    """429: too many failed sign-ins for an account or from an address; retry after `Retry-After` seconds."""

    status = 429
    code = "too-many-requests"
    title = "Too many requests"

    @classmethod
    def after(cls, seconds: int) -> TooManyRequestsError:
        wait = max(1, seconds)
        return cls(f"Too many failed sign-ins; try again in {wait} seconds", headers={"Retry-After": str(wait)},
                   retry_after=wait)
