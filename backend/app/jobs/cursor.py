"""The `cursor` of `GET /jobs`: where a page ended in the listing order, signed, and bound to the page's filters.

A cursor is `<payload>.<tag>`, both base64url without padding: the payload is the compact JSON
`[1, key, job_id, filters]` (format version; the last job's sort key as an integer: `started_at` in microseconds
since the Unix epoch, UTC, `cost` in micro-USD or GPU-hours in GPU-microseconds, null when the job has none; its
`job_id`; a digest of the filters and the sort the page was listed under), the tag the first 16 bytes of its
HMAC-SHA256 under a key derived from the service's secret key. Clients treat it as opaque. Any change to it, a
cursor of another deployment, or one reused with other filters or another sort is refused (`InvalidCursorError`, a
422 naming `cursor`): a cursor never silently lists something else.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from app.core.errors import UnprocessableError

CURSOR_VERSION = 1
MAX_CURSOR_LENGTH = 1_024  # a job_id is at most 255 characters, 4 bytes each in UTF-8, base64 adds a third
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TAG_BYTES = 16


class InvalidCursorError(UnprocessableError):
    """422 for a `cursor` that was not issued by this service for these filters."""

    def __init__(self, why: str) -> None:
        super().__init__(f"Invalid request: query.cursor: {why}",
                         errors=[{"loc": ["query", "cursor"], "msg": why, "type": "invalid_cursor"}])


@dataclass(frozen=True, slots=True)
class Position:
    """The last job of a page: its sort key as an integer (`started_at` as microseconds since the epoch, `cost`
    as micro-USD, GPU-hours as GPU-microseconds; None when the job has none), and its `job_id`, the tie-break."""

    key: int | None
    job_id: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def filters_digest(filters: dict[str, Any]) -> str:
    """A short digest of the normalised filters (JSON-able values, lists in a canonical order), so a cursor made
    under one set of filters is recognised when it comes back with another."""
    canonical = json.dumps(filters, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


class CursorCodec:
    """Makes and reads cursors with a key derived from `secret` (the service's JWT secret key)."""

    def __init__(self, secret: str) -> None:
        self._key = hmac.new(secret.encode(), b"jobcost/jobs-cursor/v1", hashlib.sha256).digest()

    def _tag(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:_TAG_BYTES]

    def encode(self, position: Position, filters: str) -> str:
        """The cursor continuing after `position` under the filters whose digest is `filters`."""
        payload = json.dumps([CURSOR_VERSION, position.key, position.job_id, filters], separators=(",", ":"),
                             ensure_ascii=False).encode()
        return f"{_b64(payload)}.{_b64(self._tag(payload))}"

    def decode(self, cursor: str, filters: str) -> Position:
        """The position `cursor` continues after. Raises InvalidCursorError when it is malformed, was altered or
        made with another key, or was made under other filters than those whose digest is `filters`."""
        body, _, tag = cursor.partition(".")
        try:
            payload, sent_tag = _unb64(body), _unb64(tag)
        except (binascii.Error, ValueError):
            raise InvalidCursorError("not a cursor this service issued (malformed)") from None
        if not tag or not hmac.compare_digest(sent_tag, self._tag(payload)):
            raise InvalidCursorError("not a cursor this service issued (altered or foreign)")
        version, key, job_id, made_under = json.loads(payload)  # signed by us: well-formed
        if version != CURSOR_VERSION:
            raise InvalidCursorError("made by another version of the service; list again from the first page")
        if made_under != filters:
            raise InvalidCursorError("made for other filters or another sort: a cursor continues the listing it "
                                     "came from, with the same filters and sort (`limit` may change)")
        return Position(key=key, job_id=job_id)


def instant_key(at: datetime | None) -> int | None:
    """`at` as a cursor's key: integer microseconds since the Unix epoch (UTC)."""
    return None if at is None else (at - _EPOCH) // timedelta(microseconds=1)


def instant_of(key: int | None) -> datetime | None:
    """The instant a cursor's key stands for (the inverse of `instant_key`)."""
    return None if key is None else _EPOCH + timedelta(microseconds=key)
